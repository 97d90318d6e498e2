// hubsync-client: talk to `hubsync daemon` from Node.js (an Electron main
// process, a script, a server). No dependencies: Node's fetch and
// child_process.
export { createClient, HubsyncError } from './client.js';
export { startDaemon, findBinary } from './daemon.js';
export { portFileFor, DEFAULT_URL } from './address.js';
