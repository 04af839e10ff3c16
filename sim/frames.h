/* frames: what the simulator's sources do to frames: clone a captured frame onto new addresses,
 * and build synthetic ones. */
#ifndef PRECRAFT_SIM_FRAMES_H
#define PRECRAFT_SIM_FRAMES_H

#include <stdint.h>

/* Moves the frame's IP addresses (both, so both directions of a flow stay paired) to those of
 * clone number 'clone' by XOR with a mask that depends on 'clone' only; 0 changes nothing.  The
 * IPv4 header and TCP/UDP/ICMPv6 checksums are updated incrementally, so a valid frame stays
 * valid.  Frames that do not decode are left alone. */
void frames_clone(uint8_t *frame, uint32_t caplen, uint32_t wirelen, int linktype, uint32_t clone);

/* Writes an Ethernet/IPv4 frame of synthetic flow 'flow' (a unique number; its addresses come
 * from 198.18.0.0/15 and its ports from the number) with protocol 'proto' (6 or 17), TCP
 * sequence 'seq', IP ID 'ip_id' and 'payload_len' bytes of payload, checksums valid.  Returns
 * the frame length, or 0 when 'cap' is too small. */
uint32_t frames_synth(uint8_t *out, uint32_t cap, uint64_t flow, int proto, uint32_t seq, uint16_t ip_id,
		      uint32_t payload_len);

#endif
