from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_level import LogLevel
from ..models.model_type import ModelType
from ..types import UNSET, Unset

T = TypeVar("T", bound="ProfileCreate")


@_attrs_define
class ProfileCreate:
    """A new profile. Only `name` and `model_path` are required.

    Attributes:
        name (str): Unique name.

            1 to 100 characters; unique.
        model_path (str): A Hugging Face repo id (`org/name`) or a local path.

            Up to 1024 characters; must not start with `-`.
        description (str | Unset): Free text.

            Up to 1000 characters.
        model_type (ModelType | Unset): What kind of model a server loads: mlx-openai-server's `--model-type`.
        port (int | Unset): Unique port of the server.

            1024..=65535; default: the next free port at or above `[servers] port_start`.
        host (str | Unset): Address the server listens on.

            Default `127.0.0.1`; a loopback address (127.0.0.1, ::1, localhost) unless `[servers] allow_public_bind` is set.
        context_length (int | Unset): Context length override.

            1..=10000000; unset: the model's own.
        max_concurrency (int | Unset): Requests served at once; passed as `--max-concurrency` to
            mlx-openai-server before 1.7 (later releases batch instead).

            1..=1024; default 1.
        decode_concurrency (int | Unset): Requests decoded together (`--decode-concurrency`, mlx-openai-server 1.8
            and later).

            1..=1024; unset: the server's default (mlx-openai-server 1.8: 32).
        prompt_concurrency (int | Unset): Prompts prefilled together (`--prompt-concurrency`, mlx-openai-server
            1.8 and later).

            1..=1024; unset: the server's default (mlx-openai-server 1.8: 8).
        queue_timeout (int | Unset): Seconds a request may wait in the queue.

            1..=86400; default 300.
        queue_size (int | Unset): Requests that may wait.

            1..=100000; default 100.
        tool_call_parser (str | Unset): Tool-call parser.

            Up to 100 characters; must not start with `-`.
        reasoning_parser (str | Unset): Reasoning parser.

            Up to 100 characters; must not start with `-`.
        message_converter (str | Unset): Message converter (mlx-openai-server before 1.7).

            Up to 100 characters; must not start with `-`.
        enable_auto_tool_choice (bool | Unset): Let the model choose tools.

            Default false.
        trust_remote_code (bool | Unset): Run code shipped with the model.

            Default false.
        chat_template_file (str | Unset): Chat template file.

            Up to 4096 characters; must not start with `-`.
        log_level (LogLevel | Unset): The model server's log level.
        log_file (str | Unset): The server's own log file.

            Up to 4096 characters; must not start with `-`.
        no_log_file (bool | Unset): Tell the server not to write its own log file.

            Default false.
        auto_start (bool | Unset): Start the server when its login service loads.

            Default false.
        on_demand (bool | Unset): Let a gateway request for this model start its server when it is
            stopped (the request waits until the server is healthy).

            Default false.
        idle_timeout (int | Unset): Seconds without a gateway request in flight after which a server the
            gateway started on demand is stopped.

            0..=2592000 whole seconds; default 0: never stopped.
        system_prompt (str | Unset): System prompt.

            Up to 100000 characters; newlines and tabs allowed.
    """

    name: str
    model_path: str
    description: str | Unset = UNSET
    model_type: ModelType | Unset = UNSET
    port: int | Unset = UNSET
    host: str | Unset = UNSET
    context_length: int | Unset = UNSET
    max_concurrency: int | Unset = UNSET
    decode_concurrency: int | Unset = UNSET
    prompt_concurrency: int | Unset = UNSET
    queue_timeout: int | Unset = UNSET
    queue_size: int | Unset = UNSET
    tool_call_parser: str | Unset = UNSET
    reasoning_parser: str | Unset = UNSET
    message_converter: str | Unset = UNSET
    enable_auto_tool_choice: bool | Unset = UNSET
    trust_remote_code: bool | Unset = UNSET
    chat_template_file: str | Unset = UNSET
    log_level: LogLevel | Unset = UNSET
    log_file: str | Unset = UNSET
    no_log_file: bool | Unset = UNSET
    auto_start: bool | Unset = UNSET
    on_demand: bool | Unset = UNSET
    idle_timeout: int | Unset = UNSET
    system_prompt: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        model_path = self.model_path

        description = self.description

        model_type: str | Unset = UNSET
        if not isinstance(self.model_type, Unset):
            model_type = self.model_type.value

        port = self.port

        host = self.host

        context_length = self.context_length

        max_concurrency = self.max_concurrency

        decode_concurrency = self.decode_concurrency

        prompt_concurrency = self.prompt_concurrency

        queue_timeout = self.queue_timeout

        queue_size = self.queue_size

        tool_call_parser = self.tool_call_parser

        reasoning_parser = self.reasoning_parser

        message_converter = self.message_converter

        enable_auto_tool_choice = self.enable_auto_tool_choice

        trust_remote_code = self.trust_remote_code

        chat_template_file = self.chat_template_file

        log_level: str | Unset = UNSET
        if not isinstance(self.log_level, Unset):
            log_level = self.log_level.value

        log_file = self.log_file

        no_log_file = self.no_log_file

        auto_start = self.auto_start

        on_demand = self.on_demand

        idle_timeout = self.idle_timeout

        system_prompt = self.system_prompt

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "model_path": model_path,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if model_type is not UNSET:
            field_dict["model_type"] = model_type
        if port is not UNSET:
            field_dict["port"] = port
        if host is not UNSET:
            field_dict["host"] = host
        if context_length is not UNSET:
            field_dict["context_length"] = context_length
        if max_concurrency is not UNSET:
            field_dict["max_concurrency"] = max_concurrency
        if decode_concurrency is not UNSET:
            field_dict["decode_concurrency"] = decode_concurrency
        if prompt_concurrency is not UNSET:
            field_dict["prompt_concurrency"] = prompt_concurrency
        if queue_timeout is not UNSET:
            field_dict["queue_timeout"] = queue_timeout
        if queue_size is not UNSET:
            field_dict["queue_size"] = queue_size
        if tool_call_parser is not UNSET:
            field_dict["tool_call_parser"] = tool_call_parser
        if reasoning_parser is not UNSET:
            field_dict["reasoning_parser"] = reasoning_parser
        if message_converter is not UNSET:
            field_dict["message_converter"] = message_converter
        if enable_auto_tool_choice is not UNSET:
            field_dict["enable_auto_tool_choice"] = enable_auto_tool_choice
        if trust_remote_code is not UNSET:
            field_dict["trust_remote_code"] = trust_remote_code
        if chat_template_file is not UNSET:
            field_dict["chat_template_file"] = chat_template_file
        if log_level is not UNSET:
            field_dict["log_level"] = log_level
        if log_file is not UNSET:
            field_dict["log_file"] = log_file
        if no_log_file is not UNSET:
            field_dict["no_log_file"] = no_log_file
        if auto_start is not UNSET:
            field_dict["auto_start"] = auto_start
        if on_demand is not UNSET:
            field_dict["on_demand"] = on_demand
        if idle_timeout is not UNSET:
            field_dict["idle_timeout"] = idle_timeout
        if system_prompt is not UNSET:
            field_dict["system_prompt"] = system_prompt

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        model_path = d.pop("model_path")

        description = d.pop("description", UNSET)

        _model_type = d.pop("model_type", UNSET)
        model_type: ModelType | Unset
        if isinstance(_model_type, Unset):
            model_type = UNSET
        else:
            model_type = ModelType(_model_type)

        port = d.pop("port", UNSET)

        host = d.pop("host", UNSET)

        context_length = d.pop("context_length", UNSET)

        max_concurrency = d.pop("max_concurrency", UNSET)

        decode_concurrency = d.pop("decode_concurrency", UNSET)

        prompt_concurrency = d.pop("prompt_concurrency", UNSET)

        queue_timeout = d.pop("queue_timeout", UNSET)

        queue_size = d.pop("queue_size", UNSET)

        tool_call_parser = d.pop("tool_call_parser", UNSET)

        reasoning_parser = d.pop("reasoning_parser", UNSET)

        message_converter = d.pop("message_converter", UNSET)

        enable_auto_tool_choice = d.pop("enable_auto_tool_choice", UNSET)

        trust_remote_code = d.pop("trust_remote_code", UNSET)

        chat_template_file = d.pop("chat_template_file", UNSET)

        _log_level = d.pop("log_level", UNSET)
        log_level: LogLevel | Unset
        if isinstance(_log_level, Unset):
            log_level = UNSET
        else:
            log_level = LogLevel(_log_level)

        log_file = d.pop("log_file", UNSET)

        no_log_file = d.pop("no_log_file", UNSET)

        auto_start = d.pop("auto_start", UNSET)

        on_demand = d.pop("on_demand", UNSET)

        idle_timeout = d.pop("idle_timeout", UNSET)

        system_prompt = d.pop("system_prompt", UNSET)

        profile_create = cls(
            name=name,
            model_path=model_path,
            description=description,
            model_type=model_type,
            port=port,
            host=host,
            context_length=context_length,
            max_concurrency=max_concurrency,
            decode_concurrency=decode_concurrency,
            prompt_concurrency=prompt_concurrency,
            queue_timeout=queue_timeout,
            queue_size=queue_size,
            tool_call_parser=tool_call_parser,
            reasoning_parser=reasoning_parser,
            message_converter=message_converter,
            enable_auto_tool_choice=enable_auto_tool_choice,
            trust_remote_code=trust_remote_code,
            chat_template_file=chat_template_file,
            log_level=log_level,
            log_file=log_file,
            no_log_file=no_log_file,
            auto_start=auto_start,
            on_demand=on_demand,
            idle_timeout=idle_timeout,
            system_prompt=system_prompt,
        )

        profile_create.additional_properties = d
        return profile_create

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
