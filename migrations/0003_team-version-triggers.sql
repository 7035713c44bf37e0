-- Team writes change what keys may do (limits, models, expiry), so they bump policy_version in
-- the same transaction, exactly as key writes do (0001_policy-version-triggers).
CREATE TRIGGER `teams_insert_bump` AFTER INSERT ON `teams`
BEGIN UPDATE `policy_version` SET `version` = `version` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `teams_update_bump` AFTER UPDATE ON `teams`
BEGIN UPDATE `policy_version` SET `version` = `version` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `teams_delete_bump` AFTER DELETE ON `teams`
BEGIN UPDATE `policy_version` SET `version` = `version` + 1 WHERE `id` = 1; END;
