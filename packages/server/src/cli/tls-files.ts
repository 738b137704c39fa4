import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { resolve } from 'node:path';

/** Where the start command reads its certificate and key (OUTPOST_TLS_CERT, OUTPOST_TLS_KEY). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** The certificate and key as PEM bytes; throws naming the variable of a file that cannot be read. */
export function readTlsFiles({ certFile, keyFile }: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (name: string, file: string): Buffer => {
    try {
      return readFileSync(resolve(file));
    } catch (err) {
      throw new Error(`${name}: cannot read ${file} (${(err as Error).message})`);
    }
  };
  return { cert: read('OUTPOST_TLS_CERT', certFile), key: read('OUTPOST_TLS_KEY', keyFile) };
}

/**
 * Reads the files again and serves new connections with what they hold now: a certificate renewed
 * (every 90 days with Let's Encrypt) without a restart, which would drop the tablets' live streams
 * and any sync under way. Connections already open keep theirs. Files that cannot be read, or a
 * key that is not the certificate's, leave the certificate in use as it was: a renewal gone wrong
 * must not take the clinic's server down. Returns what to print.
 */
export function reloadTls(server: HttpsServer, files: TlsFiles): { ok: boolean; message: string } {
  try {
    server.setSecureContext(readTlsFiles(files));
    return { ok: true, message: `HTTPS certificate reloaded from ${files.certFile}` };
  } catch (err) {
    return {
      ok: false,
      message: `HTTPS certificate not reloaded, the one in use stays: ${(err as Error).message}`,
    };
  }
}
