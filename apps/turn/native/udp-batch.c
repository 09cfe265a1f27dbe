// Hummingbird TURN: batched UDP sockets for the relay's data path (Linux).
//
// The addon only moves bytes: it never parses a datagram. All TURN logic stays in TypeScript
// (src/server.ts); this file replaces what Node's dgram layer costs per packet (a read callback,
// a Buffer, an rinfo object, an EventEmitter emit; per send a request object and one sendmsg)
// with one recvmmsg + one call into JS per batch, and sends queued from JS flushed with sendmmsg.
//
// Built at run time by src/native-udp.ts:  cc -O2 -shared -fPIC -I<node include> -o x.node udp-batch.c
//
// Shared state (one thread: everything runs on Node's main loop):
//   - the receive arena (a JS Buffer, RX_SLOTS slots of RX_SLOT bytes) and the receive meta
//     (a JS Uint32Array, META_WORDS words per slot: offset, length, port, family, addr[4]),
//     handed over once by init(); a batch callback gets the count and reads both;
//   - the send queue: datagrams memcpy'd into one send arena, chained per socket, flushed with
//     sendmmsg per socket after each batch callback and in a uv_check after any other send.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#define RX_SLOTS 64
#define RX_SLOT 65536
#define META_WORDS 8
#define MAX_BATCHES_PER_WAKE 16
#define TX_ARENA (4 * 1024 * 1024)
#define TX_ENTRIES 1024
#define SENDMMSG_MAX 64

// Per-socket counters (stats()): received, sent, send errors, receive errors, truncated, dropped (queue full / EAGAIN).
enum { ST_RX, ST_TX, ST_TX_ERR, ST_RX_ERR, ST_TRUNC, ST_TX_DROP, ST_COUNT };

typedef struct sock {
  int id;
  int fd;
  int family;
  int closed;
  int dirty;
  int head; // first queued send entry, -1 = none
  int tail;
  uv_poll_t *poll;
  napi_ref callback;
  double stats[ST_COUNT];
} sock_t;

typedef struct {
  sock_t *owner;
  int next;
  uint32_t offset;
  uint32_t length;
  struct sockaddr_storage to;
  socklen_t tolen;
} tx_entry_t;

static napi_env g_env;
static int g_inited;
static napi_ref g_arena_ref, g_meta_ref;
static uint8_t *g_arena;
static uint32_t *g_meta;
static napi_async_context g_async;

static sock_t **g_socks;
static int g_socks_cap;

static uint8_t *g_tx;
static uint32_t g_tx_used;
static tx_entry_t g_txq[TX_ENTRIES];
static int g_txq_used;
static sock_t *g_dirty[TX_ENTRIES];
static int g_dirty_count;
static int g_in_batch;
static uv_check_t g_check;
static uv_idle_t g_idle;
static int g_flush_scheduled;

static struct mmsghdr g_rx_msgs[RX_SLOTS];
static struct iovec g_rx_iov[RX_SLOTS];
static struct sockaddr_storage g_rx_from[RX_SLOTS];

#define CHECK(call)                                                                                  \
  do {                                                                                               \
    if ((call) != napi_ok) return NULL;                                                              \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char code[32];
  char msg[160];
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EINVAL ? "EINVAL" : "ENATIVE";
  snprintf(code, sizeof code, "%s", name);
  snprintf(msg, sizeof msg, "%s: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, code, msg);
  return NULL;
}

static sock_t *sock_by_id(napi_env env, napi_value v) {
  int32_t id;
  if (napi_get_value_int32(env, v, &id) != napi_ok) return NULL;
  if (id < 0 || id >= g_socks_cap) return NULL;
  sock_t *s = g_socks[id];
  if (s == NULL || s->closed) return NULL;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Sending

static void flush_socket(sock_t *s) {
  struct mmsghdr msgs[SENDMMSG_MAX];
  struct iovec iov[SENDMMSG_MAX];
  int idx = s->head;
  while (idx >= 0) {
    int n = 0;
    while (idx >= 0 && n < SENDMMSG_MAX) {
      tx_entry_t *e = &g_txq[idx];
      iov[n].iov_base = g_tx + e->offset;
      iov[n].iov_len = e->length;
      memset(&msgs[n].msg_hdr, 0, sizeof msgs[n].msg_hdr);
      msgs[n].msg_hdr.msg_name = &e->to;
      msgs[n].msg_hdr.msg_namelen = e->tolen;
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      msgs[n].msg_len = 0;
      n++;
      idx = e->next;
    }
    int done = 0;
    while (done < n) {
      int r = sendmmsg(s->fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        s->stats[ST_TX] += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        // Kernel send buffer full: the datagram is dropped, as an overloaded relay must.
        s->stats[ST_TX_DROP] += 1;
      } else {
        // The first datagram failed (ICMP error reported on the socket, EMSGSIZE, EPERM, a bad
        // destination): count it, skip it, go on with the rest.
        s->stats[ST_TX_ERR] += 1;
      }
      done += 1;
    }
  }
  s->head = s->tail = -1;
  s->dirty = 0;
}

static void flush_all(void) {
  for (int i = 0; i < g_dirty_count; i++) {
    sock_t *s = g_dirty[i];
    if (s != NULL && !s->closed) flush_socket(s);
  }
  g_dirty_count = 0;
  g_txq_used = 0;
  g_tx_used = 0;
}

static void on_check(uv_check_t *h) {
  (void)h;
  flush_all();
  g_flush_scheduled = 0;
  uv_check_stop(&g_check);
  uv_idle_stop(&g_idle);
}

static void on_idle(uv_idle_t *h) { (void)h; }

static void schedule_flush(void) {
  if (g_in_batch || g_flush_scheduled) return;
  g_flush_scheduled = 1;
  // The idle handle keeps the loop from blocking in poll, so the check (the flush) runs in this
  // loop iteration even if the send came from a timer.
  uv_idle_start(&g_idle, on_idle);
  uv_check_start(&g_check, on_check);
}

// send(id, buffer, length, port, ip4 /* uint32, host order */) -> 0 or -errno
// send6(id, buffer, length, port, ip6text)
// The first `length` bytes of `buffer` are copied into the send queue at once: the caller may
// reuse the buffer as soon as this returns.
static napi_value do_send(napi_env env, napi_callback_info info, int v6) {
  size_t argc = 5;
  napi_value argv[5];
  napi_value result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "send needs 5 arguments");
    return NULL;
  }
  int32_t rc = 0;
  sock_t *s = sock_by_id(env, argv[0]);
  void *data = NULL;
  size_t capacity = 0;
  size_t length = 0;
  uint32_t wanted = 0;
  uint32_t port = 0;
  if (s == NULL) {
    rc = -EBADF;
  } else if (napi_get_buffer_info(env, argv[1], &data, &capacity) != napi_ok || napi_get_value_uint32(env, argv[2], &wanted) != napi_ok || wanted > capacity ||
             napi_get_value_uint32(env, argv[3], &port) != napi_ok || port == 0 || port > 65535) {
    rc = -EINVAL;
  } else if ((length = wanted) > 65535) {
    rc = -EMSGSIZE;
  } else {
    struct sockaddr_storage to;
    socklen_t tolen;
    memset(&to, 0, sizeof to);
    if (!v6) {
      uint32_t ip;
      if (s->family != AF_INET || napi_get_value_uint32(env, argv[4], &ip) != napi_ok) {
        rc = -EINVAL;
      } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&to;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(ip);
        tolen = sizeof *a;
      }
    } else {
      char text[64];
      size_t n = 0;
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
      if (s->family != AF_INET6 || napi_get_value_string_latin1(env, argv[4], text, sizeof text, &n) != napi_ok || n >= sizeof text - 1 || inet_pton(AF_INET6, text, &a->sin6_addr) != 1) {
        rc = -EINVAL;
      } else {
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        tolen = sizeof *a;
      }
    }
    if (rc == 0) {
      if (g_txq_used >= TX_ENTRIES || g_tx_used + length > TX_ARENA || g_dirty_count >= TX_ENTRIES) flush_all();
      int idx = g_txq_used++;
      tx_entry_t *e = &g_txq[idx];
      e->owner = s;
      e->next = -1;
      e->offset = g_tx_used;
      e->length = (uint32_t)length;
      memcpy(&e->to, &to, sizeof to);
      e->tolen = tolen;
      if (length > 0) memcpy(g_tx + g_tx_used, data, length);
      g_tx_used += (uint32_t)((length + 15) & ~(size_t)15);
      if (s->head < 0) s->head = idx;
      else g_txq[s->tail].next = idx;
      s->tail = idx;
      if (!s->dirty) {
        s->dirty = 1;
        g_dirty[g_dirty_count++] = s;
      }
      schedule_flush();
    }
  }
  CHECK(napi_create_int32(env, rc, &result));
  return result;
}

static napi_value js_send(napi_env env, napi_callback_info info) { return do_send(env, info, 0); }
static napi_value js_send6(napi_env env, napi_callback_info info) { return do_send(env, info, 1); }

// flush(): sends everything queued now (tests; the loop flushes by itself).
static napi_value js_flush(napi_env env, napi_callback_info info) {
  (void)info;
  flush_all();
  napi_value undef;
  CHECK(napi_get_undefined(env, &undef));
  return undef;
}

// ---------------------------------------------------------------------------------------------
// Receiving

static void fill_meta(int i, int len) {
  uint32_t *m = g_meta + (size_t)i * META_WORDS;
  m[0] = (uint32_t)i * RX_SLOT;
  m[1] = (uint32_t)len;
  struct sockaddr_storage *from = &g_rx_from[i];
  if (from->ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)from;
    m[2] = ntohs(a->sin_port);
    m[3] = 4;
    m[4] = ntohl(a->sin_addr.s_addr);
    m[5] = m[6] = m[7] = 0;
  } else if (from->ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)from;
    m[2] = ntohs(a->sin6_port);
    m[3] = 6;
    const uint8_t *b = a->sin6_addr.s6_addr;
    for (int w = 0; w < 4; w++) m[4 + w] = ((uint32_t)b[4 * w] << 24) | ((uint32_t)b[4 * w + 1] << 16) | ((uint32_t)b[4 * w + 2] << 8) | b[4 * w + 3];
  } else {
    m[1] = 0xffffffffu; // unknown family: JS skips the slot
  }
}

static void call_batch(sock_t *s, int count) {
  napi_env env = g_env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[1], result;
  if (napi_get_reference_value(env, s->callback, &cb) == napi_ok && cb != NULL && napi_get_global(env, &recv) == napi_ok &&
      napi_create_int32(env, count, &argv[0]) == napi_ok) {
    napi_status st = napi_make_callback(env, g_async, recv, cb, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  sock_t *s = (sock_t *)handle->data;
  if (s == NULL || s->closed) return;
  if (status < 0) {
    s->stats[ST_RX_ERR] += 1;
    return;
  }
  if (!(events & UV_READABLE)) return;
  g_in_batch = 1;
  for (int batch = 0; batch < MAX_BATCHES_PER_WAKE && !s->closed; batch++) {
    for (int i = 0; i < RX_SLOTS; i++) {
      g_rx_iov[i].iov_base = g_arena + (size_t)i * RX_SLOT;
      g_rx_iov[i].iov_len = RX_SLOT;
      memset(&g_rx_msgs[i].msg_hdr, 0, sizeof g_rx_msgs[i].msg_hdr);
      g_rx_msgs[i].msg_hdr.msg_name = &g_rx_from[i];
      g_rx_msgs[i].msg_hdr.msg_namelen = sizeof g_rx_from[i];
      g_rx_msgs[i].msg_hdr.msg_iov = &g_rx_iov[i];
      g_rx_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(s->fd, g_rx_msgs, RX_SLOTS, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // An ICMP error reported on the socket (ECONNREFUSED and kin) is consumed by this call;
      // the socket stays usable.
      s->stats[ST_RX_ERR] += 1;
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EMSGSIZE) continue;
      break;
    }
    if (n == 0) break;
    int kept = 0;
    for (int i = 0; i < n; i++) {
      if (g_rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        s->stats[ST_TRUNC] += 1;
        g_meta[(size_t)i * META_WORDS + 1] = 0xffffffffu;
        continue;
      }
      fill_meta(i, (int)g_rx_msgs[i].msg_len);
      kept++;
    }
    s->stats[ST_RX] += kept;
    call_batch(s, n);
    if (n < RX_SLOTS) break;
  }
  g_in_batch = 0;
  flush_all();
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

static void on_poll_closed(uv_handle_t *h) {
  sock_t *s = (sock_t *)h->data;
  free(h);
  if (s != NULL) free(s);
}

// init(arena: Buffer (RX_SLOTS * RX_SLOT bytes), meta: Uint32Array (RX_SLOTS * META_WORDS)) -> [slots, slotBytes, metaWords]
static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_value shape;
  CHECK(napi_create_array_with_length(env, 3, &shape));
  napi_value v;
  CHECK(napi_create_int32(env, RX_SLOTS, &v));
  CHECK(napi_set_element(env, shape, 0, v));
  CHECK(napi_create_int32(env, RX_SLOT, &v));
  CHECK(napi_set_element(env, shape, 1, v));
  CHECK(napi_create_int32(env, META_WORDS, &v));
  CHECK(napi_set_element(env, shape, 2, v));
  if (argc < 2) return shape; // shape query only
  if (g_inited) {
    napi_throw_error(env, "EALREADY", "udp-batch: init() called twice");
    return NULL;
  }
  void *arena = NULL;
  size_t arena_len = 0;
  CHECK(napi_get_buffer_info(env, argv[0], &arena, &arena_len));
  napi_typedarray_type type;
  size_t meta_len = 0;
  void *meta = NULL;
  napi_value meta_ab;
  size_t meta_off = 0;
  CHECK(napi_get_typedarray_info(env, argv[1], &type, &meta_len, &meta, &meta_ab, &meta_off));
  if (arena_len < (size_t)RX_SLOTS * RX_SLOT || type != napi_uint32_array || meta_len < (size_t)RX_SLOTS * META_WORDS) {
    napi_throw_range_error(env, NULL, "udp-batch: init() got arrays of the wrong size or type");
    return NULL;
  }
  g_tx = malloc(TX_ARENA);
  g_socks_cap = 1024;
  g_socks = calloc((size_t)g_socks_cap, sizeof *g_socks);
  if (g_tx == NULL || g_socks == NULL) {
    napi_throw_error(env, "ENOMEM", "udp-batch: out of memory");
    return NULL;
  }
  CHECK(napi_create_reference(env, argv[0], 1, &g_arena_ref));
  CHECK(napi_create_reference(env, argv[1], 1, &g_meta_ref));
  g_arena = arena;
  g_meta = meta;
  napi_value resource, name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_string_utf8(env, "HummingbirdUdpBatch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &g_async));
  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_check_init(loop, &g_check) != 0 || uv_idle_init(loop, &g_idle) != 0) {
    napi_throw_error(env, "ENATIVE", "udp-batch: uv handle init failed");
    return NULL;
  }
  g_env = env;
  g_inited = 1;
  return shape;
}

// open(family 4|6, host, port, rcvbuf, sndbuf, v6only, onBatch) -> [id, boundPort]
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!g_inited) {
    napi_throw_error(env, "ENOTINIT", "udp-batch: init() first");
    return NULL;
  }
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "open needs 7 arguments");
    return NULL;
  }
  int32_t family, port, rcvbuf, sndbuf;
  bool v6only;
  char host[64];
  size_t host_len = 0;
  napi_valuetype cbtype;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_latin1(env, argv[1], host, sizeof host, &host_len));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &rcvbuf));
  CHECK(napi_get_value_int32(env, argv[4], &sndbuf));
  CHECK(napi_get_value_bool(env, argv[5], &v6only));
  CHECK(napi_typeof(env, argv[6], &cbtype));
  if ((family != 4 && family != 6) || port < 0 || port > 65535 || cbtype != napi_function || host_len >= sizeof host - 1) {
    napi_throw_type_error(env, NULL, "udp-batch: bad open() arguments");
    return NULL;
  }
  struct sockaddr_storage addr;
  socklen_t addrlen;
  memset(&addr, 0, sizeof addr);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, "udp-batch: bad IPv4 address", EINVAL);
    addrlen = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, "udp-batch: bad IPv6 address", EINVAL);
    addrlen = sizeof *a;
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "udp-batch: socket()", errno);
  if (family == 6) {
    int on = v6only ? 1 : 0;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  // The kernel caps these at net.core.[rw]mem_max; the socket works either way.
  if (rcvbuf > 0) (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, (struct sockaddr *)&addr, addrlen) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "udp-batch: bind()", err);
  }
  struct sockaddr_storage bound;
  socklen_t boundlen = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &boundlen) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "udp-batch: getsockname()", err);
  }
  int bound_port = family == 4 ? ntohs(((struct sockaddr_in *)&bound)->sin_port) : ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);

  int id = -1;
  for (int i = 0; i < g_socks_cap; i++) {
    if (g_socks[i] == NULL) {
      id = i;
      break;
    }
  }
  if (id < 0) {
    int cap = g_socks_cap * 2;
    sock_t **grown = realloc(g_socks, (size_t)cap * sizeof *grown);
    if (grown == NULL) {
      close(fd);
      return throw_errno(env, "udp-batch: socket table", ENOMEM);
    }
    memset(grown + g_socks_cap, 0, (size_t)(cap - g_socks_cap) * sizeof *grown);
    id = g_socks_cap;
    g_socks = grown;
    g_socks_cap = cap;
  }
  sock_t *s = calloc(1, sizeof *s);
  uv_poll_t *poll = calloc(1, sizeof *poll);
  uv_loop_t *loop = NULL;
  if (s == NULL || poll == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, poll, fd) != 0) {
    free(s);
    free(poll);
    close(fd);
    return throw_errno(env, "udp-batch: poll init", ENOMEM);
  }
  s->id = id;
  s->fd = fd;
  s->family = family == 4 ? AF_INET : AF_INET6;
  s->head = s->tail = -1;
  s->poll = poll;
  poll->data = s;
  if (napi_create_reference(env, argv[6], 1, &s->callback) != napi_ok) {
    poll->data = NULL;
    free(s);
    close(fd);
    uv_close((uv_handle_t *)poll, on_poll_closed);
    return NULL;
  }
  if (uv_poll_start(poll, UV_READABLE, on_readable) != 0) {
    napi_delete_reference(env, s->callback);
    poll->data = NULL;
    free(s);
    close(fd);
    uv_close((uv_handle_t *)poll, on_poll_closed);
    return throw_errno(env, "udp-batch: poll start", EIO);
  }
  g_socks[id] = s;
  napi_value out, v;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_int32(env, id, &v));
  CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_create_int32(env, bound_port, &v));
  CHECK(napi_set_element(env, out, 1, v));
  return out;
}

// close(id) -> boolean (false: unknown or already closed). Queued sends of the socket are dropped.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = argc < 1 ? NULL : sock_by_id(env, argv[0]);
  if (s != NULL) {
    s->closed = 1;
    for (int i = 0; i < g_dirty_count; i++)
      if (g_dirty[i] == s) g_dirty[i] = NULL;
    s->dirty = 0;
    s->head = s->tail = -1;
    uv_poll_stop(s->poll);
    close(s->fd);
    s->fd = -1;
    g_socks[s->id] = NULL;
    napi_delete_reference(env, s->callback);
    s->callback = NULL;
    uv_close((uv_handle_t *)s->poll, on_poll_closed);
  }
  CHECK(napi_get_boolean(env, s != NULL, &result));
  return result;
}

// stats(id) -> [rx, tx, txErrors, rxErrors, truncated, txDropped] or undefined
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = argc < 1 ? NULL : sock_by_id(env, argv[0]);
  if (s == NULL) {
    CHECK(napi_get_undefined(env, &out));
    return out;
  }
  CHECK(napi_create_array_with_length(env, ST_COUNT, &out));
  for (int i = 0; i < ST_COUNT; i++) {
    CHECK(napi_create_double(env, s->stats[i], &v));
    CHECK(napi_set_element(env, out, (uint32_t)i, v));
  }
  return out;
}

static napi_value init_module(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"send6", NULL, js_send6, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init_module)
