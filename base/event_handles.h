#pragma once
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "base/handle.h"

namespace regcache {

using EventBasePtr = Handle<event_base, event_base_free>;
using EventPtr = Handle<event, event_free>;
using BufferEventPtr = Handle<bufferevent, bufferevent_free>;
using EvBufferPtr = Handle<evbuffer, evbuffer_free>;
using ListenerPtr = Handle<evconnlistener, evconnlistener_free>;

} // namespace regcache
