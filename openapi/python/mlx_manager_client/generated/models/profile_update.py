from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_level import LogLevel
from ..models.model_type import ModelType
from ..types import UNSET, Unset

T = TypeVar("T", bound="ProfileUpdate")


@_attrs_define
class ProfileUpdate:
    """A partial update: absent fields stay as they are; `null` clears an
    optional field.

        Attributes:
            name (str | Unset): Unique name.

                1 to 100 characters; unique.
            description (None | str | Unset): Free text.

                Up to 1000 characters.

                `null` clears it.
            model_path (str | Unset): A Hugging Face repo id (`org/name`) or a local path.

                Up to 1024 characters; must not start with `-`.
            model_type (ModelType | Unset): What kind of model a server loads: mlx-openai-server's `--model-type`.
            port (int | Unset): Unique port of the server.

                1024..=65535; default: the next free port at or above `[servers] port_start`.
            host (str | Unset): Address the server listens on.

                Default `127.0.0.1`; a loopback address (127.0.0.1, ::1, localhost) unless `[servers] allow_public_bind` is set.
            context_length (int | None | Unset): Context length override.

                1..=10000000; unset: the model's own.

                `null` clears it.
            max_concurrency (int | Unset): Requests served at once; passed as `--max-concurrency` to
                mlx-openai-server before 1.7 (later releases batch instead).

                1..=1024; default 1.
            decode_concurrency (int | None | Unset): Requests decoded together (`--decode-concurrency`, mlx-openai-server
                1.8
                and later).

                1..=1024; unset: the server's default (mlx-openai-server 1.8: 32).

                `null` clears it.
            prompt_concurrency (int | None | Unset): Prompts prefilled together (`--prompt-concurrency`, mlx-openai-server
                1.8 and later).

                1..=1024; unset: the server's default (mlx-openai-server 1.8: 8).

                `null` clears it.
            queue_timeout (int | Unset): Seconds a request may wait in the queue.

                1..=86400; default 300.
            queue_size (int | Unset): Requests that may wait.

                1..=100000; default 100.
            tool_call_parser (None | str | Unset): Tool-call parser.

                Up to 100 characters; must not start with `-`.

                `null` clears it.
            reasoning_parser (None | str | Unset): Reasoning parser.

                Up to 100 characters; must not start with `-`.

                `null` clears it.
            message_converter (None | str | Unset): Message converter (mlx-openai-server before 1.7).

                Up to 100 characters; must not start with `-`.

                `null` clears it.
            enable_auto_tool_choice (bool | Unset): Let the model choose tools.

                Default false.
            trust_remote_code (bool | Unset): Run code shipped with the model.

                Default false.
            chat_template_file (None | str | Unset): Chat template file.

                Up to 4096 characters; must not start with `-`.

                `null` clears it.
            log_level (LogLevel | Unset): The model server's log level.
            log_file (None | str | Unset): The server's own log file.

                Up to 4096 characters; must not start with `-`.

                `null` clears it.
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
            system_prompt (None | str | Unset): System prompt.

                Up to 100000 characters; newlines and tabs allowed.

                `null` clears it.
    """

    name: str | Unset = UNSET
    description: None | str | Unset = UNSET
    model_path: str | Unset = UNSET
    model_type: ModelType | Unset = UNSET
    port: int | Unset = UNSET
    host: str | Unset = UNSET
    context_length: int | None | Unset = UNSET
    max_concurrency: int | Unset = UNSET
    decode_concurrency: int | None | Unset = UNSET
    prompt_concurrency: int | None | Unset = UNSET
    queue_timeout: int | Unset = UNSET
    queue_size: int | Unset = UNSET
    tool_call_parser: None | str | Unset = UNSET
    reasoning_parser: None | str | Unset = UNSET
    message_converter: None | str | Unset = UNSET
    enable_auto_tool_choice: bool | Unset = UNSET
    trust_remote_code: bool | Unset = UNSET
    chat_template_file: None | str | Unset = UNSET
    log_level: LogLevel | Unset = UNSET
    log_file: None | str | Unset = UNSET
    no_log_file: bool | Unset = UNSET
    auto_start: bool | Unset = UNSET
    on_demand: bool | Unset = UNSET
    idle_timeout: int | Unset = UNSET
    system_prompt: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        model_path = self.model_path

        model_type: str | Unset = UNSET
        if not isinstance(self.model_type, Unset):
            model_type = self.model_type.value

        port = self.port

        host = self.host

        context_length: int | None | Unset
        if isinstance(self.context_length, Unset):
            context_length = UNSET
        else:
            context_length = self.context_length

        max_concurrency = self.max_concurrency

        decode_concurrency: int | None | Unset
        if isinstance(self.decode_concurrency, Unset):
            decode_concurrency = UNSET
        else:
            decode_concurrency = self.decode_concurrency

        prompt_concurrency: int | None | Unset
        if isinstance(self.prompt_concurrency, Unset):
            prompt_concurrency = UNSET
        else:
            prompt_concurrency = self.prompt_concurrency

        queue_timeout = self.queue_timeout

        queue_size = self.queue_size

        tool_call_parser: None | str | Unset
        if isinstance(self.tool_call_parser, Unset):
            tool_call_parser = UNSET
        else:
            tool_call_parser = self.tool_call_parser

        reasoning_parser: None | str | Unset
        if isinstance(self.reasoning_parser, Unset):
            reasoning_parser = UNSET
        else:
            reasoning_parser = self.reasoning_parser

        message_converter: None | str | Unset
        if isinstance(self.message_converter, Unset):
            message_converter = UNSET
        else:
            message_converter = self.message_converter

        enable_auto_tool_choice = self.enable_auto_tool_choice

        trust_remote_code = self.trust_remote_code

        chat_template_file: None | str | Unset
        if isinstance(self.chat_template_file, Unset):
            chat_template_file = UNSET
        else:
            chat_template_file = self.chat_template_file

        log_level: str | Unset = UNSET
        if not isinstance(self.log_level, Unset):
            log_level = self.log_level.value

        log_file: None | str | Unset
        if isinstance(self.log_file, Unset):
            log_file = UNSET
        else:
            log_file = self.log_file

        no_log_file = self.no_log_file

        auto_start = self.auto_start

        on_demand = self.on_demand

        idle_timeout = self.idle_timeout

        system_prompt: None | str | Unset
        if isinstance(self.system_prompt, Unset):
            system_prompt = UNSET
        else:
            system_prompt = self.system_prompt

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if description is not UNSET:
            field_dict["description"] = description
        if model_path is not UNSET:
            field_dict["model_path"] = model_path
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
        name = d.pop("name", UNSET)

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        model_path = d.pop("model_path", UNSET)

        _model_type = d.pop("model_type", UNSET)
        model_type: ModelType | Unset
        if isinstance(_model_type, Unset):
            model_type = UNSET
        else:
            model_type = ModelType(_model_type)

        port = d.pop("port", UNSET)

        host = d.pop("host", UNSET)

        def _parse_context_length(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        context_length = _parse_context_length(d.pop("context_length", UNSET))

        max_concurrency = d.pop("max_concurrency", UNSET)

        def _parse_decode_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        decode_concurrency = _parse_decode_concurrency(
            d.pop("decode_concurrency", UNSET)
        )

        def _parse_prompt_concurrency(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        prompt_concurrency = _parse_prompt_concurrency(
            d.pop("prompt_concurrency", UNSET)
        )

        queue_timeout = d.pop("queue_timeout", UNSET)

        queue_size = d.pop("queue_size", UNSET)

        def _parse_tool_call_parser(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tool_call_parser = _parse_tool_call_parser(d.pop("tool_call_parser", UNSET))

        def _parse_reasoning_parser(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reasoning_parser = _parse_reasoning_parser(d.pop("reasoning_parser", UNSET))

        def _parse_message_converter(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        message_converter = _parse_message_converter(d.pop("message_converter", UNSET))

        enable_auto_tool_choice = d.pop("enable_auto_tool_choice", UNSET)

        trust_remote_code = d.pop("trust_remote_code", UNSET)

        def _parse_chat_template_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        chat_template_file = _parse_chat_template_file(
            d.pop("chat_template_file", UNSET)
        )

        _log_level = d.pop("log_level", UNSET)
        log_level: LogLevel | Unset
        if isinstance(_log_level, Unset):
            log_level = UNSET
        else:
            log_level = LogLevel(_log_level)

        def _parse_log_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        log_file = _parse_log_file(d.pop("log_file", UNSET))

        no_log_file = d.pop("no_log_file", UNSET)

        auto_start = d.pop("auto_start", UNSET)

        on_demand = d.pop("on_demand", UNSET)

        idle_timeout = d.pop("idle_timeout", UNSET)

        def _parse_system_prompt(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        system_prompt = _parse_system_prompt(d.pop("system_prompt", UNSET))

        profile_update = cls(
            name=name,
            description=description,
            model_path=model_path,
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

        profile_update.additional_properties = d
        return profile_update

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
