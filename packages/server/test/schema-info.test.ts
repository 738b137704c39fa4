// GET /v1/schema: which schema the caller's tenant follows, and what their roles may do in each
// collection, so an app made for one schema can tell an account whose records it cannot show.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaInfoResponseSchema } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { startTestServer } from './server-fixture';
import type { TestEmail, TestServer } from './server-fixture';

describe('the schema of the caller’s tenant', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { server: { tenantSchemas: { 'vet-a': vetPractice } } });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const schemaOf = async (email: TestEmail) => {
    const res = await server.request({ method: 'GET', url: '/v1/schema', token: await server.token(email) });
    expect(res.status).toBe(200);
    return schemaInfoResponseSchema.parse(res.body);
  };

  it('names field-clinic for a clinic and vet-practice for the practice, with their collections', async () => {
    const clinic = await schemaOf('nurse@clinic-a.test');
    expect(clinic.name).toBe('field-clinic');
    expect(clinic.collections.map((c) => c.name)).toContain('patients');
    const practice = await schemaOf('vet@vet-a.test');
    expect(practice.name).toBe('vet-practice');
    expect(practice.collections.map((c) => c.name).sort()).toEqual([
      'appointments',
      'pets',
      'soapNotes',
      'users',
    ]);
    expect(practice.collections.every((c) => c.idStrategy === 'server')).toBe(true);
  });

  it('gives each caller their own permissions: an admin may resolve, a clinician may not', async () => {
    const nurse = await schemaOf('nurse@clinic-a.test');
    const admin = await schemaOf('admin@clinic-a.test');
    const patients = (info: typeof nurse) => info.collections.find((c) => c.name === 'patients')?.actions;
    expect(patients(nurse)).toEqual(expect.arrayContaining(['read', 'create', 'update']));
    expect(patients(nurse)).not.toContain('resolve');
    expect(patients(admin)).toContain('resolve');
  });

  it('answers no one without a valid token, in the error shape', async () => {
    const res = await server.request<{ error: { code: string } }>({ method: 'GET', url: '/v1/schema' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });
});
