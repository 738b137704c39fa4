/**
 * Every bug the simulation found keeps a seed that showed it. Each seed below fails with its fix
 * taken out (checked with the workload of this file's commit) and must pass for good. Each runs as
 * it was found: with devices on the live stream (`live: true`) or, for the seeds found before live
 * updates, without (`npm run sim -- --seeds 1 --from SEED --no-live --trace` replays one of those).
 * Every seed here was found before devices kept record filters, and replays without them
 * (`--no-filters`); a seed found with filters says `filters: true`.
 * docs/decisions/0012 tells each story.
 */
export interface Regression {
  seed: number;
  bug: string;
  fix: string;
  /** Found with live updates on; absent for the seeds found before them. */
  live?: true;
  /** Found with record filters on; absent for the seeds found before them. */
  filters?: true;
}

const createDeleteFoldedAway: Omit<Regression, 'seed'> = {
  bug: 'an unsent create and delete of an id another device had already put on the server were folded to nothing: the device showed the record gone and the server kept it (convergence)',
  fix: 'client outbox/coalesce.ts, sync/sync-engine.ts: when the device holds a server copy of that id, they fold into one delete of that version',
  live: true,
};

const lockedFormReplaced: Omit<Regression, 'seed'> = {
  bug: 'a create of an id that already exists replaced a locked intake form (immutability)',
  fix: 'server push/apply-push.ts: a create that would change a signed or locked record is refused too',
};

const sentBeforeParent: Omit<Regression, 'seed'> = {
  bug: 'ops went out ahead of their own record create or a parent create that had failed or was held back, and were refused for good (no lost write)',
  fix: 'client sync/sync-engine.ts: ops wait behind any create not sent now, their own record and down the whole chain',
};

export const regressions: readonly Regression[] = [
  { seed: 22, ...lockedFormReplaced },
  { seed: 71, ...lockedFormReplaced },
  { seed: 4, ...sentBeforeParent },
  { seed: 140, ...sentBeforeParent },
  {
    seed: 168,
    bug: 'a later edit was folded into an op already sent (its attempts reset by a retry by hand, or forgotten in flight by a crash): the device and the server disagree on what that opId is (no lost write)',
    fix: 'client outbox/coalesce.ts, sync/sync-engine.ts, stores/local-store.ts: an op once sent is marked sent, stored before the request leaves, and never folded',
  },
  {
    seed: 53,
    bug: 'an op answered "duplicate" (applied earlier, the answer lost) left the device showing it replayed over a newer server state (convergence)',
    fix: 'client sync/sync-engine.ts: such an acknowledgement reads the record afresh',
  },
  {
    seed: 3076,
    bug: 'a refused update kept on screen brought back a field the person had since changed again, once the record was read from the server afresh (convergence)',
    fix: 'client collection.ts, local-state.ts: a later change marks the fields it sets superseded on the refused op, which no longer shows them',
  },
  {
    seed: 8546,
    bug: 'a locked form refused a change and the read of its server state was lost to the network: the device kept showing the refused change for good (convergence, immutability)',
    fix: 'client sync/sync-engine.ts: records to read afresh are stored with the answer that asked for them and read again by the next sync',
  },
  {
    seed: 6726,
    bug: "a resend's duplicate answer carried the server's version of back then and replaced a newer one the device had pulled meanwhile (convergence)",
    fix: 'client sync/sync-engine.ts: a conflict answer older than what the device shows makes it read the record afresh',
  },
  {
    seed: 33799,
    bug: 'a create resent after its answer was lost came back "duplicate" after the device had itself deleted the record, and the device showed it again, at the create\'s version (convergence)',
    fix: 'client sync/sync-engine.ts, stores/local-store.ts: a duplicate acknowledgement reads the record afresh whenever the device pulled after first sending the op',
  },
  {
    seed: 43228,
    bug: 'an op retried by hand while a sync was pulling stayed pending: the sync asked for next joined the running one, whose push was over (convergence, no lost write)',
    fix: 'client sync/sync-engine.ts, create-sync-client.ts: a retry by hand tells the engine, and the next sync asked for sends the retried ops',
  },
  { seed: 81660, ...createDeleteFoldedAway },
  { seed: 81954, ...createDeleteFoldedAway },
  {
    seed: 82367,
    bug: 'a delete resent after its answer was lost came back "duplicate" after the device had pulled the record revived by a colleague\'s later edit, and the device dropped it (convergence)',
    fix: 'client sync/sync-engine.ts: a stale duplicate acknowledgement of a delete reads the record afresh too',
    live: true,
  },
  {
    seed: 501784,
    bug: "an administrator settled a prescription conflict another tablet had raised; that tablet pulled the settled dose and kept showing the conflict as waiting for a person (convergence; found with the check, by a run without the client's read of settled conflicts)",
    fix: 'client sync/sync-engine.ts: after each pull, a device holding open conflicts reads which are still open, and the settlement of those that are not (decisions/0020)',
    live: true,
  },
  {
    seed: 110143,
    bug: "an administrator settled a patient's delete-update conflict in the server's favour, which wrote no new version; the tablet that raised it, waiting for its record to move, kept showing it as waiting (convergence)",
    fix: 'client sync/sync-engine.ts: the settlement is read from the archive whether or not the record moved (decisions/0020)',
    live: true,
  },
  {
    seed: 186701,
    bug: "an administrator's tablet that kept the patients of other villages out read the archive's conflict over one of them, which it had let go before the conflict reached it: the conflict waited for her review with its patient missing on her tablet (convergence)",
    fix: 'client sync/sync-engine.ts: each sync reads and keeps the records of the conflicts waiting on the device that it does not hold, in a collection it pulls (decisions/0027)',
    live: true,
    filters: true,
  },
];
