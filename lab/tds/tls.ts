// TLS for TDS. Two shapes:
// - wrapped (TDS 7.x, `encrypt: true`): the handshake travels inside PRELOGIN messages, one TLS
//   flight per message; afterwards raw TLS records carry the TDS packets. Capped at TLS 1.2
//   because under 1.3 the server's post-handshake tickets would leak out wrapped.
// - strict (TDS 8.0, `encrypt: 'strict'`): TLS from the first byte, ALPN `tds/8.0`.
// Both run a server-side TLSSocket over an in-memory duplex so we decide where ciphertext goes.
import { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';

/** Ciphertext pipe: what TLS writes comes out of `onOut`; what we `push` is what TLS reads. */
class CipherPipe extends Duplex {
  constructor(private readonly onOut: (b: Buffer) => void) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.onOut(chunk);
    done();
  }
  override _read(): void {}
}

export interface TlsCredentials {
  key: string;
  cert: string;
}

/** Why the lab waits for a flight after 'secure': see switchToRawSoon. */
const FINAL_FLIGHT_GRACE_MS = 20;

export interface TlsLayerEvents {
  /** A whole handshake flight to send inside one PRELOGIN message (wrapped mode only). */
  sendWrapped(flight: Buffer): void;
  /** Raw ciphertext to write to the TCP socket. */
  sendRaw(data: Buffer): void;
  /** Decrypted bytes from the client (TDS packets). */
  plaintext(data: Buffer): void;
  error(err: Error): void;
}

export class TlsLayer {
  private readonly pipe: CipherPipe;
  private readonly socket: TLSSocket;
  private raw: boolean;
  private secure = false;
  private flight: Buffer[] = [];
  private flushScheduled = false;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    context: SecureContext,
    mode: 'wrapped' | 'strict',
    private readonly events: TlsLayerEvents,
  ) {
    this.raw = mode === 'strict';
    this.pipe = new CipherPipe((b) => this.onCiphertext(b));
    this.socket = new TLSSocket(this.pipe, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: mode === 'strict' ? ['tds/8.0'] : undefined,
    } as ConstructorParameters<typeof TLSSocket>[1]);
    this.socket.on('secure', () => this.onSecure());
    this.socket.on('data', (d: Buffer) => this.events.plaintext(d));
    this.socket.on('error', (err) => this.events.error(err));
  }

  get isRaw(): boolean {
    return this.raw;
  }

  get isSecure(): boolean {
    return this.secure;
  }

  /** The payload of a client PRELOGIN message during the wrapped handshake. */
  feedWrapped(payload: Buffer): void {
    this.pipe.push(payload);
  }

  /** Bytes read from the TCP socket once records flow raw. */
  feedRaw(data: Buffer): void {
    if (!this.raw) this.switchToRaw();
    this.pipe.push(data);
  }

  /** Encrypts and sends TDS bytes. */
  write(data: Buffer, written?: () => void): void {
    this.socket.write(data, written);
  }

  destroy(): void {
    clearTimeout(this.graceTimer);
    this.socket.destroy();
  }

  private onCiphertext(b: Buffer): void {
    if (this.raw) {
      this.events.sendRaw(b);
      return;
    }
    this.flight.push(b);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Everything TLS writes in this turn of the event loop belongs to one flight.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.raw || this.flight.length === 0) return;
    const flight = Buffer.concat(this.flight);
    this.flight = [];
    this.events.sendWrapped(flight);
    if (this.secure) this.switchToRaw();
  }

  /**
   * Node emits 'secure' before it writes the server's final flight (CCS + Finished), and that
   * flight must still go out wrapped. So the switch happens after the next flush, or after a
   * short grace period when no flight follows (an abbreviated handshake).
   */
  private onSecure(): void {
    this.secure = true;
    if (this.raw) return;
    this.graceTimer = setTimeout(() => {
      if (!this.raw && !this.flushScheduled) this.switchToRaw();
    }, FINAL_FLIGHT_GRACE_MS);
    this.graceTimer.unref();
  }

  private switchToRaw(): void {
    clearTimeout(this.graceTimer);
    this.raw = true;
    if (this.flight.length) {
      // Output produced after the last flush but before the switch is already raw TLS.
      const pending = Buffer.concat(this.flight);
      this.flight = [];
      this.events.sendRaw(pending);
    }
  }
}

/**
 * Contexts made, by mode and credentials. A drill starts a lab (two TDS servers, two contexts
 * each) for every run with the same certificates, and each context costs a few ms of CPU to parse
 * the key and certificate: ~5% of a drill process. A context holds no state of a connection, so
 * servers with the same credentials share one. The newest few are kept: a test process may make
 * many certificate sets.
 */
const contexts = new Map<string, SecureContext>();
const CONTEXTS_KEPT = 8;

/** The server context for `creds` in `mode`, made once while it is among the last few asked for. */
export function createTlsContext(creds: TlsCredentials, mode: 'wrapped' | 'strict'): SecureContext {
  const id = `${mode}\n${creds.key}\n${creds.cert}`;
  const known = contexts.get(id);
  if (known) return known;
  const context = createSecureContext({
    key: creds.key,
    cert: creds.cert,
    maxVersion: mode === 'wrapped' ? 'TLSv1.2' : undefined,
  });
  contexts.set(id, context);
  if (contexts.size > CONTEXTS_KEPT) contexts.delete(contexts.keys().next().value!);
  return context;
}
