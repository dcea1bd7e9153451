//! The core's numbered schema migrations (plugins bring their own).

use mlx_manager_sdk::Migration;

/// The core's migrations, in order.
pub const CORE: &[Migration] = &[];
