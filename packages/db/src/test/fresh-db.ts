import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createDb, type DbHandle } from '../connect.js';

/** The server the tests run against, or undefined for in-memory PGlite. */
export const serverUrl = process.env.DATABASE_URL || undefined;

const created: string[] = [];

/** A fresh, empty database: in-memory PGlite, or a new database on the real server. */
export async function freshDb(): Promise<DbHandle & { url: string | undefined }> {
  if (!serverUrl) return { ...createDb({}), url: undefined };
  const name = `roster_dbtest_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  created.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { ...createDb({ url: url.toString() }), url: url.toString() };
}

/** Drops the databases this file created on the server (call from afterAll). */
export async function dropFreshDbs(): Promise<void> {
  if (!serverUrl || created.length === 0) return;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const name of created.splice(0)) await admin.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}
