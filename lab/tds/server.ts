// The lab's TDS listener: one per emulated replica, on 127.0.0.1. It speaks enough of TDS 7.4
// (and TDS 8.0 strict TLS) for the real tedious/mssql client; the backend answers the SQL.
import { createServer, type Server, type Socket } from 'node:net';
import type { Session, TdsServer, TdsServerOptions } from './contract.js';
import { TdsConnection } from './connection.js';
import { createTlsContext } from './tls.js';

export type { TdsServer, TdsServerOptions } from './contract.js';

export async function startTdsServer(opts: TdsServerOptions): Promise<TdsServer> {
  const host = opts.host ?? '127.0.0.1';
  const tls = opts.tls
    ? { wrapped: createTlsContext(opts.tls, 'wrapped'), strict: createTlsContext(opts.tls, 'strict') }
    : undefined;
  const connections = new Set<TdsConnection>();
  /** Accepted sockets told to hang: held open, never read, ended by dropSessions/close. */
  const silent = new Set<Socket>();

  const onConnection = (socket: Socket) => {
    const decision = opts.backend.acceptConnection();
    if (decision === 'refuse') {
      socket.resetAndDestroy();
      return;
    }
    if (decision === 'hang') {
      silent.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => silent.delete(socket));
      return;
    }
    const connection = new TdsConnection(socket, {
      backend: opts.backend,
      tls,
      onClose: () => connections.delete(connection),
    });
    connections.add(connection);
  };
  let server: Server | undefined = createServer(onConnection);
  const first = server;

  await new Promise<void>((resolve, reject) => {
    first.once('error', reject);
    first.listen(opts.port ?? 0, host, () => {
      first.off('error', reject);
      resolve();
    });
  });
  const address = first.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closed = false;

  // Listening on an IP address binds at once, so a client that connects right after sees it.
  const setListening = (listening: boolean) => {
    if (closed || listening === (server !== undefined)) return;
    if (!listening) {
      server!.close();
      server = undefined;
      return;
    }
    server = createServer(onConnection);
    server.on('error', () => undefined);
    server.listen(port, host);
  };

  const dropSessions = (which?: (session: Session) => boolean) => {
    for (const c of connections) {
      const session = c.currentSession;
      if (!which || (session && which(session))) c.destroy();
    }
    if (!which) for (const s of silent) s.destroy();
  };

  return {
    host,
    port,
    dropSessions,
    setListening,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        dropSessions();
        if (!server) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}
