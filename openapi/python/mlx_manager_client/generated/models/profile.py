from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_level import LogLevel
from ..models.model_type import ModelType
from ..types import UNSET, Unset

T = TypeVar("T", bound="Profile")


@_attrs_define
class Profile:
    """A server profile: how to run one model server.

    Attributes:
        id (str): Opaque, URL-safe id.
        name (str): Unique name.
        model_path (str): A Hugging Face repo id (`org/name`) or a local path.
        model_type (ModelType): What kind of model a server loads: mlx-openai-server's `--model-type`.
        port (int): Unique port of the server.
        host (str): Address the server listens on.
        max_concurrency (int): Requests served at once; passed as `--max-concurrency` to
            mlx-openai-server before 1.7 (later releases batch instead).
        queue_timeout (int): Seconds a request may wait in the queue.
        queue_size (int): Requests that may wait.
        enable_auto_tool_choice (bool): Let the model choose tools.
        trust_remote_code (bool): Run code shipped with the model.
        log_level (LogLevel): The model server's log level.
        no_log_file (bool): Tell the server not to write its own log file.
        auto_start (bool): Start the server when its login service loads.
        on_demand (bool): Let a gateway request for this model start its server when it is
            stopped (the request waits until the server is healthy).
        idle_timeout (int): Seconds without a gateway request in flight after which a server the
            gateway started on demand is stopped.
        service_installed (bool): A login service (launchd/systemd) is installed for this profile.
        warnings (list[str]): Settings of this profile that the model-server command cannot carry,
            as sentences: set but not used by the `[servers] args` template, or not
            accepted by the installed mlx-openai-server version (detected from
            `<program> --version`). Empty when every setting reaches the server.
        created_at (datetime.datetime): Creation time.
        updated_at (datetime.datetime): Last change.
        description (str | Unset): Free text.
        context_length (int | Unset): Context length override.
        decode_concurrency (int | Unset): Requests decoded together (`--decode-concurrency`, mlx-openai-server 1.8
            and later).
        prompt_concurrency (int | Unset): Prompts prefilled together (`--prompt-concurrency`, mlx-openai-server
            1.8 and later).
        tool_call_parser (str | Unset): Tool-call parser.
        reasoning_parser (str | Unset): Reasoning parser.
        message_converter (str | Unset): Message converter (mlx-openai-server before 1.7).
        chat_template_file (str | Unset): Chat template file.
        log_file (str | Unset): The server's own log file.
        system_prompt (str | Unset): System prompt.
    """

    id: str
    name: str
    model_path: str
    model_type: ModelType
    port: int
    host: str
    max_concurrency: int
    queue_timeout: int
    queue_size: int
    enable_auto_tool_choice: bool
    trust_remote_code: bool
    log_level: LogLevel
    no_log_file: bool
    auto_start: bool
    on_demand: bool
    idle_timeout: int
    service_installed: bool
    warnings: list[str]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    description: str | Unset = UNSET
    context_length: int | Unset = UNSET
    decode_concurrency: int | Unset = UNSET
    prompt_concurrency: int | Unset = UNSET
    tool_call_parser: str | Unset = UNSET
    reasoning_parser: str | Unset = UNSET
    message_converter: str | Unset = UNSET
    chat_template_file: str | Unset = UNSET
    log_file: str | Unset = UNSET
    system_prompt: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        model_path = self.model_path

        model_type = self.model_type.value

        port = self.port

        host = self.host

        max_concurrency = self.max_concurrency

        queue_timeout = self.queue_timeout

        queue_size = self.queue_size

        enable_auto_tool_choice = self.enable_auto_tool_choice

        trust_remote_code = self.trust_remote_code

        log_level = self.log_level.value

        no_log_file = self.no_log_file

        auto_start = self.auto_start

        on_demand = self.on_demand

        idle_timeout = self.idle_timeout

        service_installed = self.service_installed

        warnings = self.warnings

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        description = self.description

        context_length = self.context_length

        decode_concurrency = self.decode_concurrency

        prompt_concurrency = self.prompt_concurrency

        tool_call_parser = self.tool_call_parser

        reasoning_parser = self.reasoning_parser

        message_converter = self.message_converter

        chat_template_file = self.chat_template_file

        log_file = self.log_file

        system_prompt = self.system_prompt

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "model_path": model_path,
                "model_type": model_type,
                "port": port,
                "host": host,
                "max_concurrency": max_concurrency,
                "queue_timeout": queue_timeout,
                "queue_size": queue_size,
                "enable_auto_tool_choice": enable_auto_tool_choice,
                "trust_remote_code": trust_remote_code,
                "log_level": log_level,
                "no_log_file": no_log_file,
                "auto_start": auto_start,
                "on_demand": on_demand,
                "idle_timeout": idle_timeout,
                "service_installed": service_installed,
                "warnings": warnings,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if context_length is not UNSET:
            field_dict["context_length"] = context_length
        if decode_concurrency is not UNSET:
            field_dict["decode_concurrency"] = decode_concurrency
        if prompt_concurrency is not UNSET:
            field_dict["prompt_concurrency"] = prompt_concurrency
        if tool_call_parser is not UNSET:
            field_dict["tool_call_parser"] = tool_call_parser
        if reasoning_parser is not UNSET:
            field_dict["reasoning_parser"] = reasoning_parser
        if message_converter is not UNSET:
            field_dict["message_converter"] = message_converter
        if chat_template_file is not UNSET:
            field_dict["chat_template_file"] = chat_template_file
        if log_file is not UNSET:
            field_dict["log_file"] = log_file
        if system_prompt is not UNSET:
            field_dict["system_prompt"] = system_prompt

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        model_path = d.pop("model_path")

        model_type = ModelType(d.pop("model_type"))

        port = d.pop("port")

        host = d.pop("host")

        max_concurrency = d.pop("max_concurrency")

        queue_timeout = d.pop("queue_timeout")

        queue_size = d.pop("queue_size")

        enable_auto_tool_choice = d.pop("enable_auto_tool_choice")

        trust_remote_code = d.pop("trust_remote_code")

        log_level = LogLevel(d.pop("log_level"))

        no_log_file = d.pop("no_log_file")

        auto_start = d.pop("auto_start")

        on_demand = d.pop("on_demand")

        idle_timeout = d.pop("idle_timeout")

        service_installed = d.pop("service_installed")

        warnings = cast(list[str], d.pop("warnings"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        description = d.pop("description", UNSET)

        context_length = d.pop("context_length", UNSET)

        decode_concurrency = d.pop("decode_concurrency", UNSET)

        prompt_concurrency = d.pop("prompt_concurrency", UNSET)

        tool_call_parser = d.pop("tool_call_parser", UNSET)

        reasoning_parser = d.pop("reasoning_parser", UNSET)

        message_converter = d.pop("message_converter", UNSET)

        chat_template_file = d.pop("chat_template_file", UNSET)

        log_file = d.pop("log_file", UNSET)

        system_prompt = d.pop("system_prompt", UNSET)

        profile = cls(
            id=id,
            name=name,
            model_path=model_path,
            model_type=model_type,
            port=port,
            host=host,
            max_concurrency=max_concurrency,
            queue_timeout=queue_timeout,
            queue_size=queue_size,
            enable_auto_tool_choice=enable_auto_tool_choice,
            trust_remote_code=trust_remote_code,
            log_level=log_level,
            no_log_file=no_log_file,
            auto_start=auto_start,
            on_demand=on_demand,
            idle_timeout=idle_timeout,
            service_installed=service_installed,
            warnings=warnings,
            created_at=created_at,
            updated_at=updated_at,
            description=description,
            context_length=context_length,
            decode_concurrency=decode_concurrency,
            prompt_concurrency=prompt_concurrency,
            tool_call_parser=tool_call_parser,
            reasoning_parser=reasoning_parser,
            message_converter=message_converter,
            chat_template_file=chat_template_file,
            log_file=log_file,
            system_prompt=system_prompt,
        )

        profile.additional_properties = d
        return profile

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
