import { z } from 'zod';

/**
 * The live stream, `GET /v1/sync/events` (an addition to PROTOCOL.md): server-sent events telling
 * a signed-in device that its clinic's data changed, so it pulls now rather than at its next timer.
 * The server writes them with formatLiveEvent, the client reads them with LiveEventReader.
 */
export type LiveEventName = 'ready' | 'changes' | 'files';

/**
 * `ready`: the stream is open; what changed before it was never announced, so a device pulls once.
 * `changes`: a commit changed the caller's tenant's records. `origin` is the clientId whose push it
 * was, when a push: that client pulls after its own push anyway.
 */
export const liveChangesSchema = z.object({ origin: z.string().optional() });
export type LiveChanges = z.infer<typeof liveChangesSchema>;

/**
 * `files`: a commit changed the caller's tenant's files: one became complete (its last chunk came),
 * or one was deleted (by a device, or purged with its record's tombstone). Like `changes`, it says
 * nothing of which: a device showing a record's files asks for the list again
 * (`GET /v1/files?collection=&recordId=`), with that route's permission checks. `origin` is the
 * clientId that uploaded or deleted it, when a device did: it knows already. A client older than
 * this event skips it: it acts on the event names it knows and no other.
 */
export const liveFilesSchema = z.object({ origin: z.string().optional() });
export type LiveFiles = z.infer<typeof liveFilesSchema>;

export interface LiveEvent {
  event: string;
  data: string;
}

/** One event in the text/event-stream format. */
export function formatLiveEvent(name: LiveEventName, data: object): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Reads text/event-stream as it arrives, in chunks cut anywhere: fields `event` and `data` (data
 * lines joined by newlines), comments and other fields ignored, CRLF, CR and LF line ends alike, as
 * the HTML standard's event-stream parsing says. An event without `event:` is a `message`.
 */
export class LiveEventReader {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  /** Feeds the next chunk of text; returns the events it completed. */
  push(chunk: string): LiveEvent[] {
    this.buffer += chunk;
    const out: LiveEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone CR at the very end may be the first half of CRLF: wait for the next chunk.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
    return out;
  }
}
