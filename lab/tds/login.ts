// The server's answer to LOGIN7: either the login reply tokens a real SQL Server sends
// (database, collation, language, LOGINACK, packet size) or ERROR + DONE(ERROR).
import { ByteWriter } from './bytes.js';
import type { SqlMessage } from './contract.js';
import { DEFAULT_PACKET_SIZE } from './framing.js';
import { changedDatabaseInfo } from './reply.js';
import {
  DEFAULT_COLLATION,
  DoneStatus,
  EnvType,
  Token,
  done,
  envChangeBytes,
  envChangeText,
  loginAck,
  messageToken,
} from './tokens.js';

/** Product version in LOGINACK: SQL Server 2022 (16.0.4135 truncated to what the token holds). */
const PRODUCT_VERSION: [number, number, number] = [16, 0, 4135];

export function loginSucceeded(opts: { database: string; packetSize: number; serverName: string }): Buffer {
  const w = new ByteWriter();
  envChangeText(w, EnvType.Database, opts.database, 'master');
  messageToken(w, 'info', changedDatabaseInfo(opts.database), opts.serverName);
  envChangeBytes(w, EnvType.Collation, DEFAULT_COLLATION, Buffer.alloc(0));
  envChangeText(w, EnvType.Language, 'us_english', '');
  messageToken(
    w,
    'info',
    { number: 5703, state: 1, class: 0, message: 'Changed language setting to us_english.', line: 1 },
    opts.serverName,
  );
  loginAck(w, 'Microsoft SQL Server', PRODUCT_VERSION);
  envChangeText(w, EnvType.PacketSize, String(opts.packetSize), String(DEFAULT_PACKET_SIZE));
  done(w, Token.Done, DoneStatus.Final);
  return w.toBuffer();
}

export function loginFailed(error: SqlMessage, serverName: string): Buffer {
  const w = new ByteWriter();
  messageToken(w, 'error', error, serverName);
  done(w, Token.Done, DoneStatus.Error);
  return w.toBuffer();
}
