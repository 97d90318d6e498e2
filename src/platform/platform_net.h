/*
 * platform_net.h - this system's socket headers: struct sockaddr_in(6),
 * getaddrinfo, inet_pton, ntohl (winsock2 on Windows, where hs_os_init has
 * started the socket library).
 */
#ifndef HS_PLATFORM_NET_H
#define HS_PLATFORM_NET_H

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#endif
