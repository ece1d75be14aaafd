from dolake.cdc.v1 import options_pb2 as _options_pb2
from dolake.cdc.v1 import value_pb2 as _value_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Operation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATION_UNSPECIFIED: _ClassVar[Operation]
    OPERATION_INSERT: _ClassVar[Operation]
    OPERATION_UPDATE: _ClassVar[Operation]
    OPERATION_DELETE: _ClassVar[Operation]

class FlushReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLUSH_REASON_UNSPECIFIED: _ClassVar[FlushReason]
    FLUSH_REASON_MANUAL: _ClassVar[FlushReason]
    FLUSH_REASON_SHUTDOWN: _ClassVar[FlushReason]
    FLUSH_REASON_BUFFER_FULL: _ClassVar[FlushReason]
    FLUSH_REASON_TIME_THRESHOLD: _ClassVar[FlushReason]

class AckStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACK_STATUS_UNSPECIFIED: _ClassVar[AckStatus]
    ACK_STATUS_OK: _ClassVar[AckStatus]
    ACK_STATUS_BUFFERED: _ClassVar[AckStatus]
    ACK_STATUS_PERSISTED: _ClassVar[AckStatus]
    ACK_STATUS_DUPLICATE: _ClassVar[AckStatus]
    ACK_STATUS_FALLBACK: _ClassVar[AckStatus]

class CircuitBreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CIRCUIT_BREAKER_STATE_UNSPECIFIED: _ClassVar[CircuitBreakerState]
    CIRCUIT_BREAKER_STATE_CLOSED: _ClassVar[CircuitBreakerState]
    CIRCUIT_BREAKER_STATE_OPEN: _ClassVar[CircuitBreakerState]
    CIRCUIT_BREAKER_STATE_HALF_OPEN: _ClassVar[CircuitBreakerState]

class NackReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NACK_REASON_UNSPECIFIED: _ClassVar[NackReason]
    NACK_REASON_BUFFER_FULL: _ClassVar[NackReason]
    NACK_REASON_RATE_LIMITED: _ClassVar[NackReason]
    NACK_REASON_INVALID_SEQUENCE: _ClassVar[NackReason]
    NACK_REASON_INVALID_FORMAT: _ClassVar[NackReason]
    NACK_REASON_INTERNAL_ERROR: _ClassVar[NackReason]
    NACK_REASON_SHUTTING_DOWN: _ClassVar[NackReason]
    NACK_REASON_PAYLOAD_TOO_LARGE: _ClassVar[NackReason]
    NACK_REASON_EVENT_TOO_LARGE: _ClassVar[NackReason]
    NACK_REASON_LOAD_SHEDDING: _ClassVar[NackReason]
    NACK_REASON_CONNECTION_LIMIT: _ClassVar[NackReason]
    NACK_REASON_IP_LIMIT: _ClassVar[NackReason]
    NACK_REASON_SCHEMA_CONFLICT: _ClassVar[NackReason]
    NACK_REASON_UNAUTHORIZED: _ClassVar[NackReason]
    NACK_REASON_NOT_CONNECTED: _ClassVar[NackReason]
    NACK_REASON_UNSUPPORTED_VERSION: _ClassVar[NackReason]

class ServerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVER_STATE_UNSPECIFIED: _ClassVar[ServerState]
    SERVER_STATE_IDLE: _ClassVar[ServerState]
    SERVER_STATE_RECEIVING: _ClassVar[ServerState]
    SERVER_STATE_FLUSHING: _ClassVar[ServerState]
    SERVER_STATE_RECOVERING: _ClassVar[ServerState]
    SERVER_STATE_ERROR: _ClassVar[ServerState]
OPERATION_UNSPECIFIED: Operation
OPERATION_INSERT: Operation
OPERATION_UPDATE: Operation
OPERATION_DELETE: Operation
FLUSH_REASON_UNSPECIFIED: FlushReason
FLUSH_REASON_MANUAL: FlushReason
FLUSH_REASON_SHUTDOWN: FlushReason
FLUSH_REASON_BUFFER_FULL: FlushReason
FLUSH_REASON_TIME_THRESHOLD: FlushReason
ACK_STATUS_UNSPECIFIED: AckStatus
ACK_STATUS_OK: AckStatus
ACK_STATUS_BUFFERED: AckStatus
ACK_STATUS_PERSISTED: AckStatus
ACK_STATUS_DUPLICATE: AckStatus
ACK_STATUS_FALLBACK: AckStatus
CIRCUIT_BREAKER_STATE_UNSPECIFIED: CircuitBreakerState
CIRCUIT_BREAKER_STATE_CLOSED: CircuitBreakerState
CIRCUIT_BREAKER_STATE_OPEN: CircuitBreakerState
CIRCUIT_BREAKER_STATE_HALF_OPEN: CircuitBreakerState
NACK_REASON_UNSPECIFIED: NackReason
NACK_REASON_BUFFER_FULL: NackReason
NACK_REASON_RATE_LIMITED: NackReason
NACK_REASON_INVALID_SEQUENCE: NackReason
NACK_REASON_INVALID_FORMAT: NackReason
NACK_REASON_INTERNAL_ERROR: NackReason
NACK_REASON_SHUTTING_DOWN: NackReason
NACK_REASON_PAYLOAD_TOO_LARGE: NackReason
NACK_REASON_EVENT_TOO_LARGE: NackReason
NACK_REASON_LOAD_SHEDDING: NackReason
NACK_REASON_CONNECTION_LIMIT: NackReason
NACK_REASON_IP_LIMIT: NackReason
NACK_REASON_SCHEMA_CONFLICT: NackReason
NACK_REASON_UNAUTHORIZED: NackReason
NACK_REASON_NOT_CONNECTED: NackReason
NACK_REASON_UNSUPPORTED_VERSION: NackReason
SERVER_STATE_UNSPECIFIED: ServerState
SERVER_STATE_IDLE: ServerState
SERVER_STATE_RECEIVING: ServerState
SERVER_STATE_FLUSHING: ServerState
SERVER_STATE_RECOVERING: ServerState
SERVER_STATE_ERROR: ServerState

class ClientMessage(_message.Message):
    __slots__ = ("connect", "cdc_batch", "heartbeat", "flush_request", "status_request")
    CONNECT_FIELD_NUMBER: _ClassVar[int]
    CDC_BATCH_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    FLUSH_REQUEST_FIELD_NUMBER: _ClassVar[int]
    STATUS_REQUEST_FIELD_NUMBER: _ClassVar[int]
    connect: Connect
    cdc_batch: CdcBatch
    heartbeat: Heartbeat
    flush_request: FlushRequest
    status_request: StatusRequest
    def __init__(self, connect: _Optional[_Union[Connect, _Mapping]] = ..., cdc_batch: _Optional[_Union[CdcBatch, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., flush_request: _Optional[_Union[FlushRequest, _Mapping]] = ..., status_request: _Optional[_Union[StatusRequest, _Mapping]] = ...) -> None: ...

class ServerMessage(_message.Message):
    __slots__ = ("connected", "ack", "nack", "heartbeat_ack", "status", "flush_result")
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    NACK_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_ACK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FLUSH_RESULT_FIELD_NUMBER: _ClassVar[int]
    connected: Connected
    ack: Ack
    nack: Nack
    heartbeat_ack: HeartbeatAck
    status: Status
    flush_result: FlushResult
    def __init__(self, connected: _Optional[_Union[Connected, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., nack: _Optional[_Union[Nack, _Mapping]] = ..., heartbeat_ack: _Optional[_Union[HeartbeatAck, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ..., flush_result: _Optional[_Union[FlushResult, _Mapping]] = ...) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("binary_protocol", "compression", "batching", "max_batch_size", "max_message_size")
    BINARY_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    BATCHING_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    binary_protocol: bool
    compression: bool
    batching: bool
    max_batch_size: int
    max_message_size: int
    def __init__(self, binary_protocol: _Optional[bool] = ..., compression: _Optional[bool] = ..., batching: _Optional[bool] = ..., max_batch_size: _Optional[int] = ..., max_message_size: _Optional[int] = ...) -> None: ...

class Connect(_message.Message):
    __slots__ = ("timestamp", "correlation_id", "source_do_id", "source_shard_name", "last_ack_sequence", "protocol_version", "capabilities")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DO_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SHARD_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_ACK_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    correlation_id: str
    source_do_id: str
    source_shard_name: str
    last_ack_sequence: int
    protocol_version: int
    capabilities: Capabilities
    def __init__(self, timestamp: _Optional[int] = ..., correlation_id: _Optional[str] = ..., source_do_id: _Optional[str] = ..., source_shard_name: _Optional[str] = ..., last_ack_sequence: _Optional[int] = ..., protocol_version: _Optional[int] = ..., capabilities: _Optional[_Union[Capabilities, _Mapping]] = ...) -> None: ...

class CdcEvent(_message.Message):
    __slots__ = ("sequence", "timestamp", "operation", "table", "row_id", "before", "after", "metadata")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ROW_ID_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    timestamp: int
    operation: Operation
    table: str
    row_id: str
    before: _value_pb2.Row
    after: _value_pb2.Row
    metadata: _value_pb2.Row
    def __init__(self, sequence: _Optional[int] = ..., timestamp: _Optional[int] = ..., operation: _Optional[_Union[Operation, str]] = ..., table: _Optional[str] = ..., row_id: _Optional[str] = ..., before: _Optional[_Union[_value_pb2.Row, _Mapping]] = ..., after: _Optional[_Union[_value_pb2.Row, _Mapping]] = ..., metadata: _Optional[_Union[_value_pb2.Row, _Mapping]] = ...) -> None: ...

class CdcBatch(_message.Message):
    __slots__ = ("timestamp", "correlation_id", "source_do_id", "source_shard_name", "events", "sequence_number", "first_event_sequence", "last_event_sequence", "size_bytes", "is_retry", "retry_count")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DO_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SHARD_NAME_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FIRST_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    IS_RETRY_FIELD_NUMBER: _ClassVar[int]
    RETRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    correlation_id: str
    source_do_id: str
    source_shard_name: str
    events: _containers.RepeatedCompositeFieldContainer[CdcEvent]
    sequence_number: int
    first_event_sequence: int
    last_event_sequence: int
    size_bytes: int
    is_retry: bool
    retry_count: int
    def __init__(self, timestamp: _Optional[int] = ..., correlation_id: _Optional[str] = ..., source_do_id: _Optional[str] = ..., source_shard_name: _Optional[str] = ..., events: _Optional[_Iterable[_Union[CdcEvent, _Mapping]]] = ..., sequence_number: _Optional[int] = ..., first_event_sequence: _Optional[int] = ..., last_event_sequence: _Optional[int] = ..., size_bytes: _Optional[int] = ..., is_retry: _Optional[bool] = ..., retry_count: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("timestamp", "source_do_id", "last_ack_sequence", "pending_events")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DO_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ACK_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PENDING_EVENTS_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    source_do_id: str
    last_ack_sequence: int
    pending_events: int
    def __init__(self, timestamp: _Optional[int] = ..., source_do_id: _Optional[str] = ..., last_ack_sequence: _Optional[int] = ..., pending_events: _Optional[int] = ...) -> None: ...

class FlushRequest(_message.Message):
    __slots__ = ("timestamp", "source_do_id", "reason", "correlation_id")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DO_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    source_do_id: str
    reason: FlushReason
    correlation_id: str
    def __init__(self, timestamp: _Optional[int] = ..., source_do_id: _Optional[str] = ..., reason: _Optional[_Union[FlushReason, str]] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ("timestamp", "correlation_id")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    correlation_id: str
    def __init__(self, timestamp: _Optional[int] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_payload_size", "max_event_size", "max_batch_events")
    MAX_PAYLOAD_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_EVENTS_FIELD_NUMBER: _ClassVar[int]
    max_payload_size: int
    max_event_size: int
    max_batch_events: int
    def __init__(self, max_payload_size: _Optional[int] = ..., max_event_size: _Optional[int] = ..., max_batch_events: _Optional[int] = ...) -> None: ...

class Connected(_message.Message):
    __slots__ = ("timestamp", "correlation_id", "source_do_id", "last_ack_sequence", "last_persisted_sequence", "protocol_version", "limits")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DO_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ACK_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LAST_PERSISTED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    correlation_id: str
    source_do_id: str
    last_ack_sequence: int
    last_persisted_sequence: int
    protocol_version: int
    limits: Limits
    def __init__(self, timestamp: _Optional[int] = ..., correlation_id: _Optional[str] = ..., source_do_id: _Optional[str] = ..., last_ack_sequence: _Optional[int] = ..., last_persisted_sequence: _Optional[int] = ..., protocol_version: _Optional[int] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...

class AckDetails(_message.Message):
    __slots__ = ("events_processed", "buffer_utilization", "time_until_flush", "persisted_path", "remaining_tokens", "bucket_capacity", "suggested_delay_ms", "circuit_breaker_state", "last_ack_sequence")
    EVENTS_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    BUFFER_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    TIME_UNTIL_FLUSH_FIELD_NUMBER: _ClassVar[int]
    PERSISTED_PATH_FIELD_NUMBER: _ClassVar[int]
    REMAINING_TOKENS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_ACK_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    events_processed: int
    buffer_utilization: float
    time_until_flush: int
    persisted_path: str
    remaining_tokens: float
    bucket_capacity: float
    suggested_delay_ms: int
    circuit_breaker_state: CircuitBreakerState
    last_ack_sequence: int
    def __init__(self, events_processed: _Optional[int] = ..., buffer_utilization: _Optional[float] = ..., time_until_flush: _Optional[int] = ..., persisted_path: _Optional[str] = ..., remaining_tokens: _Optional[float] = ..., bucket_capacity: _Optional[float] = ..., suggested_delay_ms: _Optional[int] = ..., circuit_breaker_state: _Optional[_Union[CircuitBreakerState, str]] = ..., last_ack_sequence: _Optional[int] = ...) -> None: ...

class RateLimitInfo(_message.Message):
    __slots__ = ("limit", "remaining", "reset_at")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESET_AT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    remaining: int
    reset_at: int
    def __init__(self, limit: _Optional[int] = ..., remaining: _Optional[int] = ..., reset_at: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("timestamp", "correlation_id", "sequence_number", "status", "batch_id", "details", "rate_limit")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    correlation_id: str
    sequence_number: int
    status: AckStatus
    batch_id: str
    details: AckDetails
    rate_limit: RateLimitInfo
    def __init__(self, timestamp: _Optional[int] = ..., correlation_id: _Optional[str] = ..., sequence_number: _Optional[int] = ..., status: _Optional[_Union[AckStatus, str]] = ..., batch_id: _Optional[str] = ..., details: _Optional[_Union[AckDetails, _Mapping]] = ..., rate_limit: _Optional[_Union[RateLimitInfo, _Mapping]] = ...) -> None: ...

class Nack(_message.Message):
    __slots__ = ("timestamp", "correlation_id", "sequence_number", "reason", "error_message", "should_retry", "retry_delay_ms", "max_size", "expected_sequence")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SHOULD_RETRY_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    correlation_id: str
    sequence_number: int
    reason: NackReason
    error_message: str
    should_retry: bool
    retry_delay_ms: int
    max_size: int
    expected_sequence: int
    def __init__(self, timestamp: _Optional[int] = ..., correlation_id: _Optional[str] = ..., sequence_number: _Optional[int] = ..., reason: _Optional[_Union[NackReason, str]] = ..., error_message: _Optional[str] = ..., should_retry: _Optional[bool] = ..., retry_delay_ms: _Optional[int] = ..., max_size: _Optional[int] = ..., expected_sequence: _Optional[int] = ...) -> None: ...

class HeartbeatAck(_message.Message):
    __slots__ = ("timestamp", "last_ack_sequence", "last_persisted_sequence")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LAST_ACK_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LAST_PERSISTED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    last_ack_sequence: int
    last_persisted_sequence: int
    def __init__(self, timestamp: _Optional[int] = ..., last_ack_sequence: _Optional[int] = ..., last_persisted_sequence: _Optional[int] = ...) -> None: ...

class BufferStats(_message.Message):
    __slots__ = ("batch_count", "event_count", "total_size_bytes", "utilization", "oldest_batch_time", "newest_batch_time")
    BATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    OLDEST_BATCH_TIME_FIELD_NUMBER: _ClassVar[int]
    NEWEST_BATCH_TIME_FIELD_NUMBER: _ClassVar[int]
    batch_count: int
    event_count: int
    total_size_bytes: int
    utilization: float
    oldest_batch_time: int
    newest_batch_time: int
    def __init__(self, batch_count: _Optional[int] = ..., event_count: _Optional[int] = ..., total_size_bytes: _Optional[int] = ..., utilization: _Optional[float] = ..., oldest_batch_time: _Optional[int] = ..., newest_batch_time: _Optional[int] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("timestamp", "state", "buffer", "connected_sources", "last_flush_time", "next_flush_time", "correlation_id")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BUFFER_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_SOURCES_FIELD_NUMBER: _ClassVar[int]
    LAST_FLUSH_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_FLUSH_TIME_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    state: ServerState
    buffer: BufferStats
    connected_sources: int
    last_flush_time: int
    next_flush_time: int
    correlation_id: str
    def __init__(self, timestamp: _Optional[int] = ..., state: _Optional[_Union[ServerState, str]] = ..., buffer: _Optional[_Union[BufferStats, _Mapping]] = ..., connected_sources: _Optional[int] = ..., last_flush_time: _Optional[int] = ..., next_flush_time: _Optional[int] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class FlushResult(_message.Message):
    __slots__ = ("timestamp", "correlation_id", "ok", "events_flushed", "tables", "error_message")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FLUSHED_FIELD_NUMBER: _ClassVar[int]
    TABLES_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    correlation_id: str
    ok: bool
    events_flushed: int
    tables: _containers.RepeatedScalarFieldContainer[str]
    error_message: str
    def __init__(self, timestamp: _Optional[int] = ..., correlation_id: _Optional[str] = ..., ok: _Optional[bool] = ..., events_flushed: _Optional[int] = ..., tables: _Optional[_Iterable[str]] = ..., error_message: _Optional[str] = ...) -> None: ...
