from dolake.cdc.v1 import cdc_pb2 as _cdc_pb2
from dolake.cdc.v1 import options_pb2 as _options_pb2
from dolake.cdc.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StartFrom(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    START_FROM_UNSPECIFIED: _ClassVar[StartFrom]
    START_FROM_NOW: _ClassVar[StartFrom]
    START_FROM_EARLIEST: _ClassVar[StartFrom]
    START_FROM_TIMESTAMP: _ClassVar[StartFrom]
    START_FROM_CURSOR: _ClassVar[StartFrom]

class SubscribeErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIBE_ERROR_CODE_UNSPECIFIED: _ClassVar[SubscribeErrorCode]
    SUBSCRIBE_ERROR_CODE_CURSOR_EXPIRED: _ClassVar[SubscribeErrorCode]
    SUBSCRIBE_ERROR_CODE_UNAUTHORIZED: _ClassVar[SubscribeErrorCode]
    SUBSCRIBE_ERROR_CODE_INVALID_REQUEST: _ClassVar[SubscribeErrorCode]
    SUBSCRIBE_ERROR_CODE_INTERNAL_ERROR: _ClassVar[SubscribeErrorCode]
START_FROM_UNSPECIFIED: StartFrom
START_FROM_NOW: StartFrom
START_FROM_EARLIEST: StartFrom
START_FROM_TIMESTAMP: StartFrom
START_FROM_CURSOR: StartFrom
SUBSCRIBE_ERROR_CODE_UNSPECIFIED: SubscribeErrorCode
SUBSCRIBE_ERROR_CODE_CURSOR_EXPIRED: SubscribeErrorCode
SUBSCRIBE_ERROR_CODE_UNAUTHORIZED: SubscribeErrorCode
SUBSCRIBE_ERROR_CODE_INVALID_REQUEST: SubscribeErrorCode
SUBSCRIBE_ERROR_CODE_INTERNAL_ERROR: SubscribeErrorCode

class SubscribeClientMessage(_message.Message):
    __slots__ = ("subscribe", "credit", "ping")
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    subscribe: Subscribe
    credit: Credit
    ping: Ping
    def __init__(self, subscribe: _Optional[_Union[Subscribe, _Mapping]] = ..., credit: _Optional[_Union[Credit, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ...) -> None: ...

class SubscribeServerMessage(_message.Message):
    __slots__ = ("subscribed", "change_batch", "up_to_date", "pong", "error")
    SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    CHANGE_BATCH_FIELD_NUMBER: _ClassVar[int]
    UP_TO_DATE_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    subscribed: Subscribed
    change_batch: ChangeBatch
    up_to_date: UpToDate
    pong: Pong
    error: SubscribeError
    def __init__(self, subscribed: _Optional[_Union[Subscribed, _Mapping]] = ..., change_batch: _Optional[_Union[ChangeBatch, _Mapping]] = ..., up_to_date: _Optional[_Union[UpToDate, _Mapping]] = ..., pong: _Optional[_Union[Pong, _Mapping]] = ..., error: _Optional[_Union[SubscribeError, _Mapping]] = ...) -> None: ...

class Subscribe(_message.Message):
    __slots__ = ("tables", "operations", "columns", "cursor", "timestamp", "max_batch_events", "credits", "correlation_id")
    TABLES_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_EVENTS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    tables: _containers.RepeatedScalarFieldContainer[str]
    operations: _containers.RepeatedScalarFieldContainer[_cdc_pb2.Operation]
    columns: _containers.RepeatedScalarFieldContainer[str]
    cursor: str
    timestamp: int
    max_batch_events: int
    credits: int
    correlation_id: str
    def __init__(self, tables: _Optional[_Iterable[str]] = ..., operations: _Optional[_Iterable[_Union[_cdc_pb2.Operation, str]]] = ..., columns: _Optional[_Iterable[str]] = ..., cursor: _Optional[str] = ..., timestamp: _Optional[int] = ..., max_batch_events: _Optional[int] = ..., credits: _Optional[int] = ..., correlation_id: _Optional[str] = ..., **kwargs) -> None: ...

class Credit(_message.Message):
    __slots__ = ("batches",)
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    batches: int
    def __init__(self, batches: _Optional[int] = ...) -> None: ...

class Ping(_message.Message):
    __slots__ = ("timestamp",)
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    def __init__(self, timestamp: _Optional[int] = ...) -> None: ...

class Subscribed(_message.Message):
    __slots__ = ("cursor", "head", "earliest", "correlation_id")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    head: str
    earliest: str
    correlation_id: str
    def __init__(self, cursor: _Optional[str] = ..., head: _Optional[str] = ..., earliest: _Optional[str] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class ChangeEvent(_message.Message):
    __slots__ = ("position", "operation", "table", "row_id", "before", "after", "sequence", "source", "timestamp", "acked_at", "metadata")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ROW_ID_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ACKED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    position: int
    operation: _cdc_pb2.Operation
    table: str
    row_id: str
    before: _value_pb2.Row
    after: _value_pb2.Row
    sequence: int
    source: str
    timestamp: int
    acked_at: int
    metadata: _value_pb2.Row
    def __init__(self, position: _Optional[int] = ..., operation: _Optional[_Union[_cdc_pb2.Operation, str]] = ..., table: _Optional[str] = ..., row_id: _Optional[str] = ..., before: _Optional[_Union[_value_pb2.Row, _Mapping]] = ..., after: _Optional[_Union[_value_pb2.Row, _Mapping]] = ..., sequence: _Optional[int] = ..., source: _Optional[str] = ..., timestamp: _Optional[int] = ..., acked_at: _Optional[int] = ..., metadata: _Optional[_Union[_value_pb2.Row, _Mapping]] = ...) -> None: ...

class ChangeBatch(_message.Message):
    __slots__ = ("events", "cursor")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ChangeEvent]
    cursor: str
    def __init__(self, events: _Optional[_Iterable[_Union[ChangeEvent, _Mapping]]] = ..., cursor: _Optional[str] = ...) -> None: ...

class UpToDate(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    def __init__(self, cursor: _Optional[str] = ...) -> None: ...

class Pong(_message.Message):
    __slots__ = ("timestamp", "head")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    head: str
    def __init__(self, timestamp: _Optional[int] = ..., head: _Optional[str] = ...) -> None: ...

class SubscribeError(_message.Message):
    __slots__ = ("code", "message", "earliest")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_FIELD_NUMBER: _ClassVar[int]
    code: SubscribeErrorCode
    message: str
    earliest: str
    def __init__(self, code: _Optional[_Union[SubscribeErrorCode, str]] = ..., message: _Optional[str] = ..., earliest: _Optional[str] = ...) -> None: ...
