import { CompiledQuery } from 'kysely';
import type { Compilable, Transaction } from 'kysely';
import { refuseNulText } from './database';
import type { Tables } from './tables';

/**
 * A push's hot multi-row inserts (records, the op journal) as SQL that Kysely compiles once per
 * statement and row count, then runs with each batch's parameters: building and compiling a
 * 500-row insert took about as long as SQLite took to run it. The caller lays the parameters out
 * in the order the statement binds them; the first compile of every shape checks that it did, so
 * a shape it cannot reuse fails loudly.
 */
export class CachedInserts {
  private readonly texts = new Map<string, string>();

  constructor(private readonly capacity = 64) {}

  /**
   * Inserts `rows` (all with the same keys, none undefined) with the statement `build` makes of them;
   * returns the number of rows the statement changed. Parameters are laid out row by row, each row
   * in the first row's column order, which is how Kysely compiles a multi-row insert.
   */
  run<Row extends Record<string, unknown>>(
    trx: Transaction<Tables>,
    name: string,
    rows: readonly Row[],
    build: (rows: readonly Row[]) => Compilable,
  ): Promise<number> {
    const first = rows[0];
    if (first === undefined) return Promise.resolve(0);
    const columns = Object.keys(first);
    const parameters: unknown[] = [];
    for (const row of rows) for (const column of columns) parameters.push(row[column]);
    return this.runLaidOut(trx, `${name}\u0000${rows.length}`, parameters, () => build(rows).compile());
  }

  /**
   * Runs the statement `compile` makes, known by `shape` (one text per shape), with `parameters`
   * laid out as that statement binds them; returns the number of rows it changed.
   */
  async runLaidOut(
    trx: Transaction<Tables>,
    shape: string,
    parameters: unknown[],
    compile: () => CompiledQuery,
  ): Promise<number> {
    let text = this.texts.get(shape);
    if (text === undefined) {
      // Compiling through Kysely runs the usual checks on the parameters (refusingNulText).
      const compiled = compile();
      const same =
        compiled.parameters.length === parameters.length &&
        compiled.parameters.every((p, i) => p === parameters[i]);
      if (!same) throw new Error(`cached insert ${shape}: parameters are not laid out as compiled`);
      text = compiled.sql;
      if (this.texts.size >= this.capacity) this.texts.delete(this.texts.keys().next().value ?? '');
      this.texts.set(shape, text);
    } else {
      refuseNulText(parameters);
    }
    const result = await trx.executeQuery(CompiledQuery.raw(text, parameters));
    return Number(result.numAffectedRows ?? 0);
  }
}
