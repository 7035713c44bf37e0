-- Every write to a policy table bumps policy_version in the same transaction, so each
-- process can tell its compiled snapshot is stale with one cheap read.
INSERT INTO `policy_version` (`id`, `version`) VALUES (1, 1);
--> statement-breakpoint
CREATE TRIGGER `virtual_keys_insert_bump` AFTER INSERT ON `virtual_keys`
BEGIN UPDATE `policy_version` SET `version` = `version` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `virtual_keys_update_bump` AFTER UPDATE ON `virtual_keys`
BEGIN UPDATE `policy_version` SET `version` = `version` + 1 WHERE `id` = 1; END;
--> statement-breakpoint
CREATE TRIGGER `virtual_keys_delete_bump` AFTER DELETE ON `virtual_keys`
BEGIN UPDATE `policy_version` SET `version` = `version` + 1 WHERE `id` = 1; END;
