"""Message pages are encoded straight from the domain window (the hot read path): the bytes must be the
ones its response model would give, field for field, so the shortcut can never drift from the contract."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from threadline.api.routers.messages import _window_response
from threadline.models.api.response.messages import MessageResponse, MessageWindowResponse
from threadline.models.domain.conversation import Message, MessageRole
from threadline.models.domain.pagination import MessageWindow
from threadline.models.domain.reply import MessageStatus


def test_the_domain_message_has_the_response_fields_in_order() -> None:
    assert list(Message.model_fields) == list(MessageResponse.model_fields)
    assert list(MessageWindow.model_fields) == list(MessageWindowResponse.model_fields)


def test_a_page_encodes_as_its_response_model_would() -> None:
    conversation_id = uuid4()
    moments = [datetime(2026, 12, 7, 15, 0, 0, tzinfo=UTC), datetime(2026, 12, 7, 15, 0, 1, 250, tzinfo=UTC)]
    messages = [
        Message(
            id=uuid4(),
            conversation_id=conversation_id,
            seq=seq,
            role=role,
            content=content,
            metadata=metadata,
            author_id=author,
            status=status,
            created_at=moments[0],
            updated_at=moments[seq % 2],
        )
        for seq, (role, content, metadata, author, status) in enumerate(
            [
                (
                    MessageRole.USER,
                    'Héllo \u2028 "quoted"',
                    {"big": 12345678901234567890123, "f": -0.0},
                    uuid4(),
                    MessageStatus.COMPLETE,
                ),
                (MessageRole.ASSISTANT, "", {}, None, MessageStatus.STREAMING),
            ],
            start=1,
        )
    ]
    window = MessageWindow[Message](items=messages, has_more=True)

    encoded = _window_response(window).body

    expected = MessageWindowResponse.model_validate(window, from_attributes=True).model_dump_json()
    assert encoded == expected.encode()
