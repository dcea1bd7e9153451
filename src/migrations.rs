//! The core's numbered schema migrations (plugins bring their own).

use mlx_manager_sdk::Migration;

/// The core's migrations, in order.
pub const CORE: &[Migration] = &[
    Migration {
        version: 1,
        name: "profiles",
        sql: crate::profiles::repo::MIGRATION_SQL,
    },
    Migration {
        version: 2,
        name: "server instances",
        sql: crate::servers::instances::MIGRATION_SQL,
    },
    Migration {
        version: 3,
        name: "download tasks",
        sql: "
DEFINE TABLE download_task SCHEMAFULL;
DEFINE FIELD model_id ON download_task TYPE string;
DEFINE FIELD status ON download_task TYPE string
    ASSERT $value IN ['pending', 'downloading', 'completed', 'failed', 'cancelled'];
DEFINE FIELD downloaded_bytes ON download_task TYPE int ASSERT $value >= 0;
DEFINE FIELD total_bytes ON download_task TYPE int ASSERT $value >= 0;
DEFINE FIELD error ON download_task TYPE option<string>;
DEFINE FIELD created_at ON download_task TYPE datetime;
DEFINE FIELD updated_at ON download_task TYPE datetime;
DEFINE INDEX download_task_status ON download_task FIELDS status;
",
    },
    Migration {
        version: 4,
        name: "profile types and batching of mlx-openai-server 1.8",
        sql: crate::profiles::repo::MIGRATION_4_SQL,
    },
    Migration {
        version: 5,
        name: "on-demand servers",
        sql: crate::profiles::repo::MIGRATION_5_SQL,
    },
    Migration {
        version: 6,
        name: "gateway usage",
        sql: crate::gateway::usage::MIGRATION_SQL,
    },
];
