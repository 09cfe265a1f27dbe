/*
 * Hummingbird: libsrtp v3 API on top of Debian bookworm's libsrtp 2.5.
 *
 * mediasoup 3.19 includes <srtp.h> and calls the libsrtp v3 API, which takes separate input and
 * output buffers with size_t lengths. libsrtp 2.5 works in place with int lengths. Every other
 * call mediasoup makes (policies, create/dealloc, init/shutdown, the event handler) has the same
 * signature in both versions. See spec mediasoup-offline-build.md §5.
 */
#ifndef HUMMINGBIRD_SRTP3_COMPAT_H
#define HUMMINGBIRD_SRTP3_COMPAT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <srtp2/srtp.h>

/* Status codes that v3 added after srtp_err_status_pkt_idx_adv (27). */
#define srtp_err_status_buffer_small ((srtp_err_status_t)28)
#define srtp_err_status_cryptex_err ((srtp_err_status_t)29)

/* v3 renamed srtp_remove_stream. */
#define srtp_stream_remove srtp_remove_stream

/* SRTCP adds a 4-byte index (E flag + index) in front of the trailer. */
#define HB_SRTCP_INDEX_LEN 4

static inline srtp_err_status_t hb_srtp3_protect(srtp_t ctx, const uint8_t *rtp, size_t rtp_len,
                                                 uint8_t *srtp, size_t *srtp_len, size_t mki_index)
{
	(void)mki_index; /* mediasoup never uses MKI: always 0 */
	if (rtp_len > (size_t)INT_MAX - SRTP_MAX_TRAILER_LEN || *srtp_len < rtp_len + SRTP_MAX_TRAILER_LEN)
		return srtp_err_status_buffer_small;
	if (srtp != rtp)
		memmove(srtp, rtp, rtp_len);
	int len = (int)rtp_len;
	srtp_err_status_t err = srtp_protect(ctx, srtp, &len);
	if (err == srtp_err_status_ok)
		*srtp_len = (size_t)len;
	return err;
}

static inline srtp_err_status_t hb_srtp3_unprotect(srtp_t ctx, const uint8_t *srtp, size_t srtp_len,
                                                   uint8_t *rtp, size_t *rtp_len)
{
	if (srtp_len > (size_t)INT_MAX || *rtp_len < srtp_len)
		return srtp_err_status_buffer_small;
	if (rtp != srtp)
		memmove(rtp, srtp, srtp_len);
	int len = (int)srtp_len;
	srtp_err_status_t err = srtp_unprotect(ctx, rtp, &len);
	if (err == srtp_err_status_ok)
		*rtp_len = (size_t)len;
	return err;
}

static inline srtp_err_status_t hb_srtp3_protect_rtcp(srtp_t ctx, const uint8_t *rtcp, size_t rtcp_len,
                                                      uint8_t *srtcp, size_t *srtcp_len, size_t mki_index)
{
	(void)mki_index;
	if (rtcp_len > (size_t)INT_MAX - SRTP_MAX_TRAILER_LEN - HB_SRTCP_INDEX_LEN ||
	    *srtcp_len < rtcp_len + SRTP_MAX_TRAILER_LEN + HB_SRTCP_INDEX_LEN)
		return srtp_err_status_buffer_small;
	if (srtcp != rtcp)
		memmove(srtcp, rtcp, rtcp_len);
	int len = (int)rtcp_len;
	srtp_err_status_t err = srtp_protect_rtcp(ctx, srtcp, &len);
	if (err == srtp_err_status_ok)
		*srtcp_len = (size_t)len;
	return err;
}

static inline srtp_err_status_t hb_srtp3_unprotect_rtcp(srtp_t ctx, const uint8_t *srtcp, size_t srtcp_len,
                                                        uint8_t *rtcp, size_t *rtcp_len)
{
	if (srtcp_len > (size_t)INT_MAX || *rtcp_len < srtcp_len)
		return srtp_err_status_buffer_small;
	if (rtcp != srtcp)
		memmove(rtcp, srtcp, srtcp_len);
	int len = (int)srtcp_len;
	srtp_err_status_t err = srtp_unprotect_rtcp(ctx, rtcp, &len);
	if (err == srtp_err_status_ok)
		*rtcp_len = (size_t)len;
	return err;
}

/* Defined after the wrappers, which call the v2 functions by their own names. */
#define srtp_protect hb_srtp3_protect
#define srtp_unprotect hb_srtp3_unprotect
#define srtp_protect_rtcp hb_srtp3_protect_rtcp
#define srtp_unprotect_rtcp hb_srtp3_unprotect_rtcp

#endif /* HUMMINGBIRD_SRTP3_COMPAT_H */
