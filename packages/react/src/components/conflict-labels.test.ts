import { describe, expect, it } from 'vitest';
import type { LocalConflict } from '@outpost/client';
import { fieldLabel, kindLabel, listInWords } from './conflict-labels';

const conflictOf = (kind: LocalConflict['summary']['kind'], opType: LocalConflict['opType']) => ({
  summary: { kind, outcome: 'open' as const },
  opType,
});

describe('conflict labels', () => {
  it('reads a field key as words', () => {
    expect(fieldLabel('village')).toBe('village');
    expect(fieldLabel('bloodPressureSystolic')).toBe('blood pressure systolic');
    expect(fieldLabel('date_of_birth')).toBe('date of birth');
    expect(fieldLabel('temperatureC')).toBe('temperature C');
    expect(fieldLabel('patientID')).toBe('patient ID');
    expect(fieldLabel('HIVStatus')).toBe('HIV status');
    expect(fieldLabel('spo2')).toBe('spo2');
  });

  it('says what happened for each kind of conflict', () => {
    for (const kind of ['version', 'timestamp', 'hash'] as const)
      expect(kindLabel(conflictOf(kind, 'update'))).toBe('Edited locally and on the server');
    expect(kindLabel(conflictOf('delete-update', 'delete'))).toBe('Deleted locally, edited on the server');
    expect(kindLabel(conflictOf('delete-update', 'update'))).toBe('Edited locally, deleted on the server');
    expect(kindLabel(conflictOf('immutable', 'update'))).toBe('Edit of a record that may no longer change');
    expect(kindLabel(conflictOf('locked', 'update'))).toBe('Edit of a locked record');
  });

  it('lists words as a sentence does', () => {
    expect(listInWords([])).toBe('');
    expect(listInWords(['village'])).toBe('village');
    expect(listInWords(['village', 'phone'])).toBe('village and phone');
    expect(listInWords(['village', 'phone', 'notes'])).toBe('village, phone and notes');
  });
});
