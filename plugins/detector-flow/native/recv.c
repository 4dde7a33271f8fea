// Batch receive for the flow collector: recvmmsg(2) on a UDP socket Node opened, into one buffer the JavaScript
// side reuses. Node's dgram reads one datagram per libuv callback and allocates a Buffer, an ArrayBuffer and an
// address object for each; a collector takes tens of thousands of datagrams a second, so that per-datagram cost
// (and the garbage it leaves) is most of what receiving costs. Here one system call returns up to `max`
// datagrams and nothing is allocated. Node-API only (ABI-stable across Node versions); Linux (recvmmsg).
//
// recv(fd, data, meta, slot, max) -> count (>= 0), or -errno on an error other than "nothing to read".
//   data: Uint8Array of max * slot bytes; datagram i is written at i * slot.
//   meta: Int32Array of max * 8: per datagram its length, MSG_TRUNC flag, address family (4 or 6), port, and
//         the source address as 4 big-endian 32-bit words (IPv4: word 0; IPv4-mapped IPv6 is reported as IPv4).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BATCH 256
#define META 8

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static napi_value recv_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5)
    return fail(env, "recv(fd, data, meta, slot, max)");
  int32_t fd, slot, max;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[3], &slot) != napi_ok ||
      napi_get_value_int32(env, argv[4], &max) != napi_ok)
    return fail(env, "fd, slot and max must be numbers");
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    return fail(env, "data must be a Uint8Array");
  size_t data_length = length;
  void *meta;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &meta, NULL, NULL) != napi_ok || type != napi_int32_array)
    return fail(env, "meta must be an Int32Array");
  if (max < 1 || max > MAX_BATCH || slot < 1 || (size_t)max * (size_t)slot > data_length ||
      (size_t)max * META > length)
    return fail(env, "data or meta too small for max datagrams of slot bytes");

  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in6 from[MAX_BATCH];
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)max);
  for (int i = 0; i < max; i++) {
    iov[i].iov_base = (uint8_t *)data + (size_t)i * (size_t)slot;
    iov[i].iov_len = (size_t)slot;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
  }
  int n = recvmmsg(fd, msgs, (unsigned int)max, MSG_DONTWAIT, NULL);
  int32_t result = n;
  if (n < 0) result = (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
  int32_t *m = (int32_t *)meta;
  for (int i = 0; i < n; i++) {
    int32_t *e = m + (size_t)i * META;
    e[0] = (int32_t)msgs[i].msg_len;
    e[1] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
    const struct sockaddr *sa = (const struct sockaddr *)&from[i];
    if (sa->sa_family == AF_INET) {
      const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
      e[2] = 4;
      e[3] = ntohs(s4->sin_port);
      e[4] = (int32_t)ntohl(s4->sin_addr.s_addr);
      e[5] = e[6] = e[7] = 0;
    } else {
      const uint8_t *a = from[i].sin6_addr.s6_addr;
      static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      e[3] = ntohs(from[i].sin6_port);
      if (memcmp(a, mapped, 12) == 0) {
        e[2] = 4;
        e[4] = (int32_t)be32(a + 12);
        e[5] = e[6] = e[7] = 0;
      } else {
        e[2] = 6;
        for (int w = 0; w < 4; w++) e[4 + w] = (int32_t)be32(a + 4 * w);
      }
    }
  }
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "recv", NAPI_AUTO_LENGTH, recv_batch, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "recv", fn) != napi_ok) return NULL;
  return exports;
}
