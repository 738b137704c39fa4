/**
 * The network between the devices and the server, as a seeded fault injector. Every request a
 * client makes is an event on the run's queue; its fate is drawn when it is sent:
 *
 * - dropped before the server: the client gets a connection error, the server never hears of it;
 * - response dropped after commit: the server applies it, the client gets a connection error;
 * - duplicated: the server receives it twice (a retrying proxy), the client hears one answer;
 * - reordered: the client gives up on it at once (a reset), but it reaches the server later,
 *   after the device's next requests;
 * - delayed: it takes seconds to a minute each way while the client waits.
 *
 * Besides, a device whose link is down fails every request at once, a request reaching a server
 * that is restarting is refused, and a device that crashed never hears its answers.
 *
 * A device's live stream (`GET /v1/sync/events`) is answered by the real route, then kept open
 * here: each of the server's change notices reaches it after a latency, unless the stream breaks
 * first (the storm's chance of a lost answer, the link going down, the server stopping). Its
 * draws come from a random stream of their own.
 */
import { liveEventFor } from '@outpost/server';
import type { ChangeNotice } from '@outpost/server';
import type { Prng } from './prng';
import type { Scheduler } from './scheduler';
import type { ServerHost, ServerReply, ServerRequest } from './server-host';

export const faultKinds = [
  'requestDropped',
  'responseDropped',
  'duplicated',
  'reordered',
  'delayed',
  'linkDown',
  'clientRestart',
  'serverRestart',
  'clockSkew',
] as const;
export type FaultKind = (typeof faultKinds)[number];
export type FaultCounts = Record<FaultKind, number>;

export function noFaults(): FaultCounts {
  return Object.fromEntries(faultKinds.map((k) => [k, 0])) as FaultCounts;
}

/** Chances per request. */
export interface FaultRates {
  requestDropped: number;
  responseDropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
}

export const calm: FaultRates = {
  requestDropped: 0,
  responseDropped: 0,
  duplicated: 0,
  reordered: 0,
  delayed: 0,
};

/** Who is on the other end of a request: a device and the incarnation of its client that sent it. */
export interface Sender {
  readonly device: string;
  readonly tenant: string;
  /** False once the client that sent it crashed: its answers go nowhere. */
  alive(): boolean;
  linkUp(): boolean;
}

/** Called after the server answered a request, whether or not the answer reaches the device. */
export type ServerObserver = (request: ServerRequest, reply: ServerReply, sender: Sender) => Promise<void>;

interface LiveStream {
  readonly sender: Sender;
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  open: boolean;
}

export class SimNetwork {
  rates: FaultRates;
  readonly faults: FaultCounts;
  requests = 0;
  delivered = 0;

  private readonly streams = new Set<LiveStream>();
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly server: ServerHost,
    private readonly random: Prng,
    rates: FaultRates,
    faults: FaultCounts,
    private readonly observe: ServerObserver,
    private readonly liveRandom: Prng,
  ) {
    this.rates = rates;
    this.faults = faults;
    server.watch({
      notice: (notice) => this.announce(notice),
      stopping: () => {
        for (const stream of [...this.streams]) this.breakStream(stream, 'the server went down');
      },
    });
  }

  private latency(): number {
    return this.random.int(2, 250);
  }

  /** The `fetch` a device's client uses. */
  fetchFor(sender: Sender): typeof fetch {
    return (input, init) => this.send(sender, String(input), init ?? {});
  }

  private send(sender: Sender, href: string, init: RequestInit): Promise<Response> {
    this.requests += 1;
    const url = new URL(href);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => (headers[key] = value));
    const request: ServerRequest = {
      method: init.method ?? 'GET',
      url: `${url.pathname}${url.search}`,
      headers,
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
    };
    const label = `${sender.device} ${request.method} ${url.pathname}`;
    if (url.pathname === '/v1/sync/events') return this.openStream(sender, request, label, init.signal);
    return new Promise<Response>((resolve, reject) => {
      const fail = (why: string) => {
        if (sender.alive()) reject(new TypeError(`fetch failed: ${why}`));
      };
      const answer = (reply: ServerReply) => {
        if (!sender.alive()) return;
        if (!sender.linkUp()) return fail('the link went down before the answer arrived');
        resolve(
          new Response(reply.body, { status: reply.status, headers: { 'content-type': reply.contentType } }),
        );
      };
      if (!sender.linkUp()) {
        this.scheduler.after(1, `${label}: no link`, () => fail('the device is offline'));
        return;
      }
      const r = this.random;
      const fate = r.weighted({
        requestDropped: this.rates.requestDropped,
        responseDropped: this.rates.responseDropped,
        duplicated: this.rates.duplicated,
        reordered: this.rates.reordered,
        delayed: this.rates.delayed,
        normal: Math.max(0, 1 - this.sumRates()),
      });
      if (fate !== 'normal') this.faults[fate] += 1;
      const slow = () => r.int(2_000, 60_000);
      const out = fate === 'delayed' ? slow() : this.latency();
      const back = fate === 'delayed' ? slow() : this.latency();

      if (fate === 'requestDropped') {
        this.scheduler.after(out, `${label}: dropped before the server`, () => fail('connection reset'));
        return;
      }
      if (fate === 'reordered') {
        // The client gives up now; the request itself arrives long after, behind newer ones.
        this.scheduler.after(out, `${label}: reset, still travelling`, () => fail('connection reset'));
        this.scheduler.after(out + r.int(1_000, 120_000), `${label}: late delivery`, () =>
          this.deliver(request, sender, () => {}, false),
        );
        return;
      }
      this.scheduler.after(out, `${label}: delivered`, () =>
        this.deliver(request, sender, (reply) => {
          if (reply === null) {
            this.scheduler.after(back, `${label}: refused`, () => fail('connection refused'));
          } else if (fate === 'responseDropped') {
            this.scheduler.after(back, `${label}: answer lost`, () =>
              fail('connection reset after the request was sent'),
            );
          } else {
            this.scheduler.after(back, `${label}: answered ${reply.status}`, () => answer(reply));
          }
        }),
      );
      if (fate === 'duplicated') {
        this.scheduler.after(out + r.int(0, 30_000), `${label}: duplicate delivery`, () =>
          this.deliver(request, sender, () => {}, false),
        );
      }
    });
  }

  /** The live stream: the route's answer (`ready`, or a refusal), then notices as they come. */
  private openStream(
    sender: Sender,
    request: ServerRequest,
    label: string,
    signal: AbortSignal | null | undefined,
  ): Promise<Response> {
    const r = this.liveRandom;
    return new Promise<Response>((resolve, reject) => {
      const fail = (why: string) => {
        if (sender.alive()) reject(new TypeError(`fetch failed: ${why}`));
      };
      if (!sender.linkUp()) {
        this.scheduler.after(1, `${label}: no link`, () => fail('the device is offline'));
        return;
      }
      this.scheduler.after(r.int(2, 250), `${label}: delivered`, async () => {
        if (!this.server.up || !sender.linkUp()) {
          this.scheduler.after(r.int(2, 250), `${label}: refused`, () => fail('connection refused'));
          return;
        }
        const reply = await this.server.handle(request);
        this.delivered += 1;
        this.scheduler.after(r.int(2, 250), `${label}: answered ${reply.status}`, () => {
          if (!sender.alive()) return;
          if (signal?.aborted) return reject(new DOMException('the stream was closed', 'AbortError'));
          if (!sender.linkUp()) return fail('the link went down before the answer arrived');
          if (reply.status !== 200) {
            resolve(
              new Response(reply.body, {
                status: reply.status,
                headers: { 'content-type': reply.contentType },
              }),
            );
            return;
          }
          let stream: LiveStream | null = null;
          const body = new ReadableStream<Uint8Array>({
            start: (controller) => {
              stream = { sender, controller, open: true };
              this.streams.add(stream);
              controller.enqueue(this.encoder.encode(reply.body));
            },
            cancel: () => {
              if (stream) this.forget(stream);
            },
          });
          signal?.addEventListener('abort', () => {
            if (stream) this.breakStream(stream, 'the stream was closed');
          });
          resolve(new Response(body, { status: 200, headers: { 'content-type': reply.contentType } }));
        });
      });
    });
  }

  /** A notice reaches each open stream of its clinic after a latency, or the stream breaks first. */
  private announce(notice: ChangeNotice): void {
    for (const stream of this.streams) {
      const event = liveEventFor(stream.sender.tenant, notice);
      if (event === null) continue;
      const r = this.liveRandom;
      const breaks = r.chance(this.rates.responseDropped);
      const label = `${stream.sender.device} live: ${breaks ? 'stream reset' : 'changes'}`;
      this.scheduler.after(r.int(2, 250), label, () => {
        if (!stream.open) return;
        if (!stream.sender.alive()) return this.forget(stream);
        if (breaks || !stream.sender.linkUp()) return this.breakStream(stream, 'connection reset');
        stream.controller.enqueue(this.encoder.encode(event));
      });
    }
  }

  private forget(stream: LiveStream): void {
    stream.open = false;
    this.streams.delete(stream);
  }

  private breakStream(stream: LiveStream, why: string): void {
    if (!stream.open) return;
    this.forget(stream);
    stream.controller.error(new TypeError(`network error: ${why}`));
  }

  private sumRates(): number {
    const { requestDropped, responseDropped, duplicated, reordered, delayed } = this.rates;
    return requestDropped + responseDropped + duplicated + reordered + delayed;
  }

  /**
   * Hands the request to the server; null when the server is down, or the device lost its link
   * before the request left (copies already travelling the network arrive regardless).
   */
  private async deliver(
    request: ServerRequest,
    sender: Sender,
    then: (reply: ServerReply | null) => void,
    needsLink = true,
  ): Promise<void> {
    if (!this.server.up || (needsLink && !sender.linkUp())) return then(null);
    const reply = await this.server.handle(request);
    this.delivered += 1;
    await this.observe(request, reply, sender);
    then(reply);
  }
}
