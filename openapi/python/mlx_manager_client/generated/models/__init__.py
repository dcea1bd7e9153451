"""Contains all the data models used in inputs/outputs"""

from .api_error import ApiError
from .api_key_create import ApiKeyCreate
from .api_key_info import ApiKeyInfo
from .audit_actor import AuditActor
from .audit_event import AuditEvent
from .audit_page import AuditPage
from .audit_target import AuditTarget
from .download_request import DownloadRequest
from .download_started import DownloadStarted
from .download_status import DownloadStatus
from .download_task import DownloadTask
from .gateway_error import GatewayError
from .gateway_error_error import GatewayErrorError
from .gateway_model_list import GatewayModelList
from .gateway_model_list_data_item import GatewayModelListDataItem
from .gateway_request import GatewayRequest
from .gateway_upload import GatewayUpload
from .health_report import HealthReport
from .health_status import HealthStatus
from .local_model import LocalModel
from .log_event import LogEvent
from .log_event_kind import LogEventKind
from .log_level import LogLevel
from .login_form import LoginForm
from .memory_status import MemoryStatus
from .message import Message
from .model_characteristics import ModelCharacteristics
from .model_deleted import ModelDeleted
from .model_search_result import ModelSearchResult
from .model_type import ModelType
from .new_api_key import NewApiKey
from .next_port import NextPort
from .password_change import PasswordChange
from .password_reset import PasswordReset
from .pending_count import PendingCount
from .probe_status import ProbeStatus
from .profile import Profile
from .profile_create import ProfileCreate
from .profile_update import ProfileUpdate
from .register_request import RegisterRequest
from .role import Role
from .server_health import ServerHealth
from .server_info import ServerInfo
from .server_started import ServerStarted
from .server_state import ServerState
from .server_stopped import ServerStopped
from .service_installed import ServiceInstalled
from .service_status import ServiceStatus
from .session_info import SessionInfo
from .status_report import StatusReport
from .stream_ticket_grant import StreamTicketGrant
from .stream_ticket_request import StreamTicketRequest
from .system_info import SystemInfo
from .throttle_lock import ThrottleLock
from .token import Token
from .usage import Usage
from .usage_group_by import UsageGroupBy
from .user import User
from .user_status import UserStatus
from .user_update_request import UserUpdateRequest

__all__ = (
    "ApiError",
    "ApiKeyCreate",
    "ApiKeyInfo",
    "AuditActor",
    "AuditEvent",
    "AuditPage",
    "AuditTarget",
    "DownloadRequest",
    "DownloadStarted",
    "DownloadStatus",
    "DownloadTask",
    "GatewayError",
    "GatewayErrorError",
    "GatewayModelList",
    "GatewayModelListDataItem",
    "GatewayRequest",
    "GatewayUpload",
    "HealthReport",
    "HealthStatus",
    "LocalModel",
    "LogEvent",
    "LogEventKind",
    "LogLevel",
    "LoginForm",
    "MemoryStatus",
    "Message",
    "ModelCharacteristics",
    "ModelDeleted",
    "ModelSearchResult",
    "ModelType",
    "NewApiKey",
    "NextPort",
    "PasswordChange",
    "PasswordReset",
    "PendingCount",
    "ProbeStatus",
    "Profile",
    "ProfileCreate",
    "ProfileUpdate",
    "RegisterRequest",
    "Role",
    "ServerHealth",
    "ServerInfo",
    "ServerStarted",
    "ServerState",
    "ServerStopped",
    "ServiceInstalled",
    "ServiceStatus",
    "SessionInfo",
    "StatusReport",
    "StreamTicketGrant",
    "StreamTicketRequest",
    "SystemInfo",
    "ThrottleLock",
    "Token",
    "Usage",
    "UsageGroupBy",
    "User",
    "UserStatus",
    "UserUpdateRequest",
)
