import { and, eq, isNull } from 'drizzle-orm';
import type { GatewayDb } from './database';
import { teams } from './schema';

export type TeamRow = typeof teams.$inferSelect;
export type TeamPatch = Partial<
  Pick<TeamRow, 'name' | 'models' | 'expiresAt' | 'rpm' | 'tpm' | 'budgetUsd' | 'budgetPeriod'>
>;

export async function insertTeam(db: GatewayDb, row: TeamRow): Promise<void> {
  await db.insert(teams).values(row);
}

export async function listTeams(db: GatewayDb): Promise<TeamRow[]> {
  return db.select().from(teams).orderBy(teams.createdAt, teams.id);
}

export async function getTeam(db: GatewayDb, id: string): Promise<TeamRow | undefined> {
  const rows = await db.select().from(teams).where(eq(teams.id, id));
  return rows[0];
}

/** Changes a live team; undefined when there is no such live team. */
export async function updateTeam(
  db: GatewayDb,
  id: string,
  patch: TeamPatch,
): Promise<TeamRow | undefined> {
  const rows = await db
    .update(teams)
    .set(patch)
    .where(and(eq(teams.id, id), isNull(teams.deletedAt)))
    .returning();
  return rows[0];
}

/** Marks a team deleted (its keys stop working); false when there is no such live team. */
export async function deleteTeam(db: GatewayDb, id: string, at: number): Promise<boolean> {
  const rows = await db
    .update(teams)
    .set({ deletedAt: at })
    .where(and(eq(teams.id, id), isNull(teams.deletedAt)))
    .returning({ id: teams.id });
  return rows.length > 0;
}

export async function liveTeams(db: GatewayDb): Promise<TeamRow[]> {
  return db.select().from(teams).where(isNull(teams.deletedAt));
}
