// The space the app's data takes on the tablet, as the Sync details page says it.
import { describe, expect, it } from 'vitest';
import { amountOfData } from '../src/device-storage';

describe('amountOfData', () => {
  it('says bytes under a kilobyte', () => {
    expect(amountOfData(0)).toBe('0 bytes');
    expect(amountOfData(1)).toBe('1 byte');
    expect(amountOfData(999)).toBe('999 bytes');
  });

  it('gives one decimal under 10 of a unit and none above, in units of 1000', () => {
    expect(amountOfData(1000)).toBe('1 KB');
    expect(amountOfData(3_500_000)).toBe('3.5 MB');
    expect(amountOfData(12_340_000)).toBe('12 MB');
    expect(amountOfData(4_294_967_296)).toBe('4.3 GB');
    expect(amountOfData(2_000_000_000_000)).toBe('2 TB');
  });

  it('moves up a unit rather than say 1000 of one', () => {
    expect(amountOfData(999_600)).toBe('1 MB');
    expect(amountOfData(9_960)).toBe('10 KB');
  });
});
