-- Deleting a team revokes its live keys in the same statement's transaction, so a key's own
-- record says it is refused (revoked_at) instead of pointing at a deleted team.
CREATE TRIGGER `teams_delete_revokes_keys` AFTER UPDATE OF `deleted_at` ON `teams`
WHEN OLD.`deleted_at` IS NULL AND NEW.`deleted_at` IS NOT NULL
BEGIN UPDATE `virtual_keys` SET `revoked_at` = NEW.`deleted_at` WHERE `team_id` = NEW.`id` AND `revoked_at` IS NULL; END;
