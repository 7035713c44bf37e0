CREATE TABLE `teams` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`models` text NOT NULL,
	`rpm` integer,
	`tpm` integer,
	`budget_usd` real,
	`budget_period` text,
	`expires_at` integer,
	`created_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE TABLE `usage_records` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`request_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`key_id` text NOT NULL,
	`team_id` text,
	`model` text NOT NULL,
	`provider` text,
	`served_model` text,
	`input_tokens` integer NOT NULL,
	`output_tokens` integer NOT NULL,
	`cached_input_tokens` integer NOT NULL,
	`cache_write_tokens` integer NOT NULL,
	`reasoning_tokens` integer NOT NULL,
	`cost_usd` real NOT NULL,
	`usage_estimated` integer NOT NULL,
	`status` integer NOT NULL,
	`error_code` text,
	`latency_ms` integer NOT NULL,
	`ttfb_ms` integer,
	`streamed` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_records_created_idx` ON `usage_records` (`created_at`);--> statement-breakpoint
CREATE INDEX `usage_records_key_created_idx` ON `usage_records` (`key_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_records_team_created_idx` ON `usage_records` (`team_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_records_model_created_idx` ON `usage_records` (`model`,`created_at`);--> statement-breakpoint
ALTER TABLE `virtual_keys` ADD `team_id` text REFERENCES teams(id);--> statement-breakpoint
ALTER TABLE `virtual_keys` ADD `rpm` integer;--> statement-breakpoint
ALTER TABLE `virtual_keys` ADD `tpm` integer;--> statement-breakpoint
ALTER TABLE `virtual_keys` ADD `budget_usd` real;--> statement-breakpoint
ALTER TABLE `virtual_keys` ADD `budget_period` text;--> statement-breakpoint
CREATE INDEX `virtual_keys_team_idx` ON `virtual_keys` (`team_id`);