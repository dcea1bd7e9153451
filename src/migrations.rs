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
];
