import type { z } from 'zod';

/** Zod issues as error details: where and what, never the offending value (it may be patient data). */
export function describeIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}
