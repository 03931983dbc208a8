#ifndef PGSHARD_CEPOLL_SHIM_H
#define PGSHARD_CEPOLL_SHIM_H
// Linux epoll and eventfd for the event loops (Backend/EventLoop.swift). `struct epoll_event` is
// packed on x86-64 and holds a union; these wrappers pass plain integers instead.
#include <stdint.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

static const uint32_t pgshard_epoll_in = EPOLLIN;
static const uint32_t pgshard_epoll_out = EPOLLOUT;
static const uint32_t pgshard_epoll_rdhup = EPOLLRDHUP;
static const uint32_t pgshard_epoll_hup = EPOLLHUP;
static const uint32_t pgshard_epoll_err = EPOLLERR;

static inline int pgshard_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

// op: 1 add, 2 delete, 3 modify (EPOLL_CTL_ADD, _DEL, _MOD).
static inline int pgshard_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &event);
}

// Waits for at most `max` (≤ 64) events; returns their count (or -1 and errno).
static inline int pgshard_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout) {
    struct epoll_event ready[64];
    if (max > 64) max = 64;
    int count = epoll_wait(epfd, ready, max, timeout);
    for (int i = 0; i < count; i++) {
        tokens[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

// A non-blocking eventfd that other threads write to wake a loop (-1 and errno on failure).
static inline int pgshard_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

// Adds one to the eventfd's counter: epoll reports it readable until it is drained.
static inline void pgshard_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t written = write(fd, &one, sizeof one);
    (void)written;
}

// Resets the eventfd's counter (nothing happens when it is zero already).
static inline void pgshard_eventfd_drain(int fd) {
    uint64_t count;
    ssize_t got = read(fd, &count, sizeof count);
    (void)got;
}
#endif
