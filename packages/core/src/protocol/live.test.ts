import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveEventReader, formatLiveEvent } from './live';

describe('the live stream format', () => {
  it('reads what the server writes, however the network cuts it into chunks', () => {
    const stream =
      'retry: 5000\n\n' +
      formatLiveEvent('ready', {}) +
      ': keep-alive\n\n' +
      formatLiveEvent('changes', { origin: 'tablet-7' }) +
      formatLiveEvent('changes', {});
    const expected = [
      { event: 'ready', data: '{}' },
      { event: 'changes', data: '{"origin":"tablet-7"}' },
      { event: 'changes', data: '{}' },
    ];
    fc.assert(
      fc.property(fc.array(fc.nat(stream.length), { maxLength: 12 }), (cuts) => {
        const at = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
        const reader = new LiveEventReader();
        const events = at.slice(1).flatMap((end, i) => reader.push(stream.slice(at[i], end)));
        expect(events).toEqual(expected);
      }),
    );
  });

  it('takes CRLF and CR line ends, joins data lines, and skips comments and unknown fields', () => {
    const reader = new LiveEventReader();
    expect(reader.push('event: changes\r\ndata: a\r\ndata: b\r\nid: 7\r\n\r')).toEqual([]);
    expect(reader.push('\n: hello\rdata: plain\r\r\n')).toEqual([
      { event: 'changes', data: 'a\nb' },
      { event: 'message', data: 'plain' },
    ]);
    // An event with no data is not dispatched.
    expect(reader.push('event: ready\n\n')).toEqual([]);
  });
});
