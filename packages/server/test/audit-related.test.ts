// One patient's whole history in the audit log (decision 0035): `GET /v1/audit?collection=patients&
// recordId=<id>&related=true` lists the events of the patient and of every record that names them
// through the schema's references, transitively (visits, the visits' notes, prescriptions, intake
// forms), a deleted visit included; never another patient's. On SQLite files and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditResponseSchema, uuidv7 } from '@outpost/core';
import type { AuditResponse } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';

type Answer = { status: number; body: AuditResponse & { error?: { code: string; message: string } } };

describe.each(dialects())('a patient’s history with their records on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let admin: string;
  const amina = { patient: uuidv7(), visit: uuidv7(), laterVisit: uuidv7(), note: uuidv7() };
  const aminaAlso = { prescription: uuidv7(), intake: uuidv7() };
  const other = { patient: uuidv7(), visit: uuidv7(), note: uuidv7() };

  beforeAll(async () => {
    server = await startTestServer(kind);
    nurse = await server.token('nurse@clinic-a.test');
    admin = await server.token('admin@clinic-a.test');
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: amina.patient, data: { name: 'Amina Phiri' } },
      { collection: 'patients', type: 'create', id: other.patient, data: { name: 'Grace Banda' } },
      {
        collection: 'encounters',
        type: 'create',
        id: amina.visit,
        data: { patientId: amina.patient, diagnosis: 'Malaria' },
      },
      { collection: 'encounters', type: 'create', id: amina.laterVisit, data: { patientId: amina.patient } },
      { collection: 'encounters', type: 'create', id: other.visit, data: { patientId: other.patient } },
      {
        collection: 'clinicalNotes',
        type: 'create',
        id: amina.note,
        data: { encounterId: amina.visit, body: 'Fever for three days' },
      },
      {
        collection: 'clinicalNotes',
        type: 'create',
        id: other.note,
        data: { encounterId: other.visit, body: 'Cough' },
      },
      {
        collection: 'prescriptions',
        type: 'create',
        id: aminaAlso.prescription,
        data: { patientId: amina.patient, encounterId: amina.visit, drug: 'Artemether', dose: '80 mg' },
      },
      { collection: 'intakeForms', type: 'create', id: aminaAlso.intake, data: { patientId: amina.patient } },
    ]);
    // A visit recorded in error and deleted: who deleted it is part of her history.
    await push(server, nurse, [
      { collection: 'encounters', type: 'delete', id: amina.laterVisit, baseVersion: 1 },
    ]);
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function audit(query: string, token = admin): Promise<Answer> {
    const res = await server.request<Answer['body']>({ method: 'GET', url: `/v1/audit${query}`, token });
    if (res.status === 200) auditResponseSchema.parse(res.body);
    return res;
  }

  const records = (answer: Answer) =>
    answer.body.events.map((e) => `${e.collection ?? ''}:${e.recordId ?? ''}:${e.opType ?? e.action}`).sort();

  it('lists the patient’s own events and those of her visits, notes, prescriptions and forms, and no one else’s', async () => {
    const res = await audit(`?collection=patients&recordId=${amina.patient}&related=true`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(records(res)).toEqual(
      [
        `patients:${amina.patient}:create`,
        `encounters:${amina.visit}:create`,
        `encounters:${amina.laterVisit}:create`,
        `encounters:${amina.laterVisit}:delete`,
        `clinicalNotes:${amina.note}:create`,
        `prescriptions:${aminaAlso.prescription}:create`,
        `intakeForms:${aminaAlso.intake}:create`,
      ].sort(),
    );
    expect(res.body.related).toEqual({ records: 6, truncated: false });
    // Without `related`, the patient's own record alone, as before.
    const own = await audit(`?collection=patients&recordId=${amina.patient}`);
    expect(records(own)).toEqual([`patients:${amina.patient}:create`]);
    expect(own.body.related).toBeUndefined();
  });

  it('starts from any record: a visit brings its notes and prescriptions, not the patient', async () => {
    const res = await audit(`?collection=encounters&recordId=${amina.visit}&related=true`);
    expect(records(res)).toEqual(
      [
        `encounters:${amina.visit}:create`,
        `clinicalNotes:${amina.note}:create`,
        `prescriptions:${aminaAlso.prescription}:create`,
      ].sort(),
    );
  });

  it('pages through the whole history with the other filters applied', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Answer = await audit(
        `?collection=patients&recordId=${amina.patient}&related=true&action=push-op&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(page.status).toBe(200);
      seen.push(...records(page));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it('shows another clinic nothing of hers, and refuses a related history without its record', async () => {
    const otherAdmin = await server.token('admin@vet-a.test');
    const theirs = await audit(`?collection=patients&recordId=${amina.patient}&related=true`, otherAdmin);
    expect(theirs.status).toBe(200);
    expect(theirs.body.events).toEqual([]);
    expect(theirs.body.related).toEqual({ records: 1, truncated: false });
    for (const query of [
      `?related=true&recordId=${amina.patient}`,
      '?related=true&collection=patients',
      `?collection=patients&recordId=${amina.patient}&related=yes`,
    ]) {
      const res = await audit(query);
      expect(res.status, query).toBe(400);
      expect(res.body.error?.code).toBe('VALIDATION_FAILED');
    }
    expect((await audit(`?collection=patients&recordId=${amina.patient}&related=true`, nurse)).status).toBe(
      403,
    );
  });
});
