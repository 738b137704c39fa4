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
 */
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

export class SimNetwork {
  rates: FaultRates;
  readonly faults: FaultCounts;
  requests = 0;
  delivered = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly server: ServerHost,
    private readonly random: Prng,
    rates: FaultRates,
    faults: FaultCounts,
    private readonly observe: ServerObserver,
  ) {
    this.rates = rates;
    this.faults = faults;
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
