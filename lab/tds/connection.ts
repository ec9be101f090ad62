// One client connection: PRELOGIN (and TLS), LOGIN7, then a RequestProcessor. Owns the socket,
// decides whether bytes on it are TDS packets or TLS records, and frames replies.
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { ProtocolError } from './bytes.js';
import type { Session, SqlBackend } from './contract.js';
import { DEFAULT_PACKET_SIZE, MessageReader, PacketType, encodeMessage, negotiatePacketSize, type Message } from './framing.js';
import { loginFailed, loginSucceeded } from './login.js';
import { parseLogin7 } from './login7.js';
import { buildPreloginResponse, decideEncryption, Encryption, parsePrelogin } from './prelogin.js';
import type { ReplyContext } from './reply.js';
import { RequestProcessor } from './session.js';
import { TlsLayer } from './tls.js';

const TLS_HANDSHAKE_RECORD = 0x16;

type State = 'prelogin' | 'tls-handshake' | 'login' | 'logged-in' | 'closed';

export interface ConnectionOptions {
  backend: SqlBackend;
  tls?: { wrapped: SecureContext; strict: SecureContext };
  onClose(): void;
}

export class TdsConnection {
  private state: State = 'prelogin';
  private readonly reader = new MessageReader();
  private tls: TlsLayer | undefined;
  private packetSize = DEFAULT_PACKET_SIZE;
  private session: Session | undefined;
  private processor: RequestProcessor | undefined;
  private sawFirstByte = false;

  constructor(
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onSocketData(d));
    socket.on('error', () => {
      /* 'close' follows; a reset by the client is not the server's error */
    });
    socket.on('close', () => this.onClosed());
  }

  /** The logged-in session, if login has completed. */
  get currentSession(): Session | undefined {
    return this.session;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onSocketData(d: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.sawFirstByte) {
      this.sawFirstByte = true;
      if (d[0] === TLS_HANDSHAKE_RECORD && this.opts.tls) {
        // TDS 8.0 (`encrypt: 'strict'`): TLS first, PRELOGIN inside it.
        this.tls = this.createTls(this.opts.tls.strict, 'strict');
      }
    }
    if (this.tls && (this.tls.isRaw || this.tls.isSecure)) this.tls.feedRaw(d);
    else this.onTdsBytes(d);
  }

  private createTls(context: SecureContext, mode: 'wrapped' | 'strict'): TlsLayer {
    return new TlsLayer(context, mode, {
      sendWrapped: (flight) => this.socket.write(encodeMessage(PacketType.Prelogin, flight, DEFAULT_PACKET_SIZE)),
      sendRaw: (data) => this.socket.write(data),
      plaintext: (data) => this.onTdsBytes(data),
      error: () => this.socket.destroy(),
    });
  }

  private onTdsBytes(d: Buffer): void {
    let messages: Message[];
    try {
      messages = this.reader.push(d);
    } catch {
      this.socket.destroy();
      return;
    }
    for (const m of messages) {
      if (this.state === 'closed') return;
      try {
        this.onMessage(m);
      } catch {
        // A malformed client message (ProtocolError) or a backend that threw during login:
        // either way this connection cannot go on, but the listener and other sessions can.
        this.socket.destroy();
        return;
      }
    }
  }

  /** Sends one server message, split into packets of the negotiated size. */
  private send(payload: Buffer, type: number = PacketType.TabularResult, written?: () => void): void {
    if (this.state === 'closed') return;
    const bytes = encodeMessage(type, payload, this.packetSize);
    if (this.tls?.isRaw) this.tls.write(bytes, written);
    else this.socket.write(bytes, written);
  }

  private onMessage(m: Message): void {
    switch (this.state) {
      case 'prelogin':
        return this.onPrelogin(m);
      case 'tls-handshake':
        if (m.type === PacketType.Prelogin && !this.tls!.isRaw) {
          this.tls!.feedWrapped(m.payload);
          return;
        }
        // The first message through the finished TLS channel is LOGIN7.
        this.state = 'login';
        return this.onLogin(m);
      case 'login':
        return this.onLogin(m);
      case 'logged-in':
        this.processor!.onMessage(m);
        return;
    }
  }

  private onPrelogin(m: Message): void {
    if (m.type !== PacketType.Prelogin) throw new ProtocolError('expected PRELOGIN');
    const request = parsePrelogin(m.payload);
    const strict = this.tls !== undefined;
    const { answer, tls } = strict
      ? { answer: request.encryption === Encryption.NotSupported ? Encryption.NotSupported : Encryption.On, tls: false }
      : decideEncryption(request.encryption, this.opts.tls !== undefined);
    this.send(buildPreloginResponse(answer));
    if (tls) {
      this.tls = this.createTls(this.opts.tls!.wrapped, 'wrapped');
      this.state = 'tls-handshake';
    } else {
      this.state = 'login';
    }
  }

  private onLogin(m: Message): void {
    if (m.type !== PacketType.Login7) throw new ProtocolError('expected LOGIN7');
    const login = parseLogin7(m.payload);
    const backend = this.opts.backend;
    const serverName = backend.serverName();
    const result = backend.login({
      user: login.user,
      password: login.password,
      database: login.database,
      appName: login.appName,
      hostName: login.hostName,
      readOnlyIntent: login.readOnlyIntent,
      clientAddress: this.socket.remoteAddress ?? '',
    });
    if ('error' in result) {
      // SQL Server closes the connection after a failed login; end it once the reply is out.
      this.send(loginFailed(result.error, serverName), PacketType.TabularResult, () => this.socket.end());
      this.state = 'closed';
      return;
    }
    this.session = result.session;
    this.send(loginSucceeded({ database: result.database, packetSize: negotiatePacketSize(login.packetSize), serverName }));
    this.packetSize = negotiatePacketSize(login.packetSize);
    const ctx: ReplyContext = { serverName, database: result.database, inTransaction: false };
    this.processor = new RequestProcessor(result.session, {
      reply: (payload) => this.send(payload),
      drop: () => this.socket.destroy(),
    }, ctx);
    this.state = 'logged-in';
  }

  private onClosed(): void {
    this.state = 'closed';
    this.tls?.destroy();
    this.processor?.close();
    if (this.session) {
      const s = this.session;
      this.session = undefined;
      s.close();
    }
    this.opts.onClose();
  }
}
