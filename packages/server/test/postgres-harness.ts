// A throwaway PostgreSQL server for the test run: a fresh cluster in a temp folder, on a free loopback port,
// with durability switched off (the data is thrown away anyway), removed again by stop().
import { execFile } from 'node:child_process';
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';

export type RunningPostgres = {
  url: string;
  dataDir: string;
  port: number;
  stop(): Promise<void>;
};

export type StartPostgresOptions = {
  log?: (line: string) => void;
};

/** The database created on the server, named in the returned URL. */
const DATABASE = 'outpost_test';
/** The OS user that runs the server when we are root (initdb and postgres refuse to run as root). */
const OS_USER = 'postgres';

/** True when a missing PostgreSQL must fail the run instead of skipping the PostgreSQL tests. */
export function postgresRequired(): boolean {
  return process.env.CI === 'true' || process.env.OUTPOST_REQUIRE_POSTGRES === '1';
}

type RunResult = { stdout: string; stderr: string };

/** Runs a program with an argument array (no shell); a failure becomes an Error naming the command and its output. */
function run(file: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // cwd: the postgres user may not be allowed into our working directory (e.g. /root), which initdb warns about.
    execFile(file, args, { cwd: tmpdir(), timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const missing = 'code' in error && error.code === 'ENOENT' ? ' (not found on PATH)' : '';
        const detail = [stderr.trim(), stdout.trim()].filter(Boolean).join('\n') || error.message + missing;
        reject(new Error(`command failed: ${[file, ...args].join(' ')}\n${detail}`, { cause: error }));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Runs a PostgreSQL program, through the postgres OS user when we are root. */
function runPg(file: string, args: readonly string[]): Promise<RunResult> {
  return isRoot() ? run('runuser', ['-u', OS_USER, '--', file, ...args]) : run(file, args);
}

async function findBinDir(): Promise<string> {
  const { stdout } = await run('pg_config', ['--bindir']);
  const binDir = stdout.trim();
  for (const program of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(binDir, program))) {
      throw new Error(
        `${program} not found in ${binDir} (from pg_config --bindir); is the PostgreSQL server package installed?`,
      );
    }
  }
  return binDir;
}

async function osUserIds(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', user])).stdout.trim());
  const gid = Number((await run('id', ['-g', user])).stdout.trim());
  return { uid, gid };
}

/** A postgresql.conf string literal. */
const confString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** The postmaster's pid, from the first line of postmaster.pid, or undefined when it is not running. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const log = options.log ?? (() => {});
  const binDir = await findBinDir();
  const initdb = join(binDir, 'initdb');
  const pgCtl = join(binDir, 'pg_ctl');

  const dataDir = await mkdtemp(join(tmpdir(), 'outpost-pg-'));
  const logFile = join(dataDir, 'log');
  let started = false;

  // Safety net for a run that is killed before teardown: an immediate shutdown (SIGQUIT) of the postmaster.
  const onExit = (): void => {
    const pid = postmasterPid(dataDir);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    if (started) {
      started = false;
      try {
        await runPg(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch (error) {
        log(`pg_ctl stop failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  process.on('exit', onExit);
  try {
    if (isRoot()) {
      // mkdtemp made the folder 0700 and owned by root; the server's OS user must own it.
      const { uid, gid } = await osUserIds(OS_USER);
      await chown(dataDir, uid, gid);
    }
    log(`initdb ${dataDir}`);
    await runPg(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync']);

    // Settings go into postgresql.conf rather than pg_ctl -o, which pg_ctl passes through a shell.
    // The socket lives in the data folder so nothing is needed from /var/run/postgresql.
    await appendFile(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        '# outpost test harness',
        `unix_socket_directories = ${confString(dataDir)}`,
        "listen_addresses = '127.0.0.1'",
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        '',
      ].join('\n'),
    );

    // The probed port can be taken by someone else before postgres binds it: retry with a new one.
    let port = 0;
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      try {
        await runPg(pgCtl, ['-D', dataDir, '-l', logFile, '-o', `-p ${port}`, '-w', '-t', '60', 'start']);
        started = true;
      } catch (error) {
        const serverLog = await readFile(logFile, 'utf8').catch(() => '');
        // pg_ctl may have timed out with the server still starting; make sure nothing is left behind.
        await runPg(pgCtl, ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => undefined);
        if (attempt < 3 && /could not bind|address already in use/i.test(serverLog)) {
          log(`port ${port} was taken, retrying`);
          await rm(logFile, { force: true });
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\nserver log (${logFile}):\n${serverLog.trim()}`, { cause: error });
      }
    }
    log(`postgres listening on 127.0.0.1:${port}`);

    const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }

    return { url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`, dataDir, port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
