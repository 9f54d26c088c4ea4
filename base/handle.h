#pragma once
// Owning handles for C library objects: one alias per C type, freed by the library's own function.
#include <memory>

namespace regcache {

template <auto Fn> struct FreeWith {
  template <class T> void operator()(T *p) const noexcept { Fn(p); }
};

// A unique_ptr whose deleter calls Fn. Use release() only where a C API takes ownership, and
// say so in a comment at that spot.
template <class T, auto Fn> using Handle = std::unique_ptr<T, FreeWith<Fn>>;

} // namespace regcache
