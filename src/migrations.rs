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
    Migration {
        version: 7,
        name: "per-host profiles, server instances and downloads",
        sql: PER_HOST_SQL,
    },
    Migration {
        version: 8,
        name: "profile names and ports unique per host",
        sql: PER_HOST_INDEX_SQL,
    },
];

/// Profiles, server instances and download tasks belong to one node (the
/// manager applying this migration takes the rows there are: a single-host
/// store's). The unique indexes become per node in the next migration: an
/// index defined in the transaction that updated its rows misses them.
const PER_HOST_SQL: &str = "
DEFINE FIELD node ON profile TYPE string;
REMOVE INDEX profile_name_unique ON profile;
REMOVE INDEX profile_port_unique ON profile;
UPDATE profile SET node = $node;
DEFINE FIELD node ON server_instance TYPE string;
UPDATE server_instance SET node = $node;
DEFINE FIELD node ON download_task TYPE string;
UPDATE download_task SET node = $node;
";

/// Profile names and ports are unique per node.
const PER_HOST_INDEX_SQL: &str = "
DEFINE INDEX profile_name_unique ON profile FIELDS node, name UNIQUE;
DEFINE INDEX profile_port_unique ON profile FIELDS node, port UNIQUE;
DEFINE INDEX server_instance_node ON server_instance FIELDS node;
DEFINE INDEX download_task_node ON download_task FIELDS node;
";
