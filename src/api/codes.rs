//! The core's error codes: every `code` its handlers answer with, in one
//! table (the SDK's shared codes are in `mlx_manager_sdk::codes`).

mlx_manager_sdk::error_codes! {
        /// 409: already running.
        ALREADY_RUNNING = "already_running";
        /// 404: config not found.
        CONFIG_NOT_FOUND = "config_not_found";
        /// 409: download in progress.
        DOWNLOAD_IN_PROGRESS = "download_in_progress";
        /// 422: empty query.
        EMPTY_QUERY = "empty_query";
        /// 502: hub error.
        HUB_ERROR = "hub_error";
        /// 503: hub offline.
        HUB_OFFLINE = "hub_offline";
        /// 422: invalid lines.
        INVALID_LINES = "invalid_lines";
        /// 422: invalid model id.
        INVALID_MODEL_ID = "invalid_model_id";
        /// 422: invalid profile.
        INVALID_PROFILE = "invalid_profile";
        /// 409: model in use.
        MODEL_IN_USE = "model_in_use";
        /// 404: model not found.
        MODEL_NOT_FOUND = "model_not_found";
        /// 409: name taken.
        NAME_TAKEN = "name_taken";
        /// 409: no free port.
        NO_FREE_PORT = "no_free_port";
        /// 409: a stored profile's host is not loopback while public binds are off.
        PUBLIC_BIND_REFUSED = "public_bind_refused";
        /// 409: port taken.
        PORT_TAKEN = "port_taken";
        /// 404: profile not found.
        PROFILE_NOT_FOUND = "profile_not_found";
        /// 503: program not found.
        PROGRAM_NOT_FOUND = "program_not_found";
        /// 404: server not running.
        SERVER_NOT_RUNNING = "server_not_running";
        /// 409: service installed.
        SERVICE_INSTALLED = "service_installed";
        /// 409: service label taken.
        SERVICE_LABEL_TAKEN = "service_label_taken";
        /// 503: service manager failed.
        SERVICE_MANAGER_FAILED = "service_manager_failed";
        /// 503: service manager unavailable.
        SERVICE_MANAGER_UNAVAILABLE = "service_manager_unavailable";
        /// 404: service not installed.
        SERVICE_NOT_INSTALLED = "service_not_installed";
        /// 501: service unsupported.
        SERVICE_UNSUPPORTED = "service_unsupported";
        /// 409: start failed.
        START_FAILED = "start_failed";
        /// 404: task not found.
        TASK_NOT_FOUND = "task_not_found";
}
