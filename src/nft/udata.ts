// The set "user data" nft attaches to a map declared with `typeof`. The kernel
// ignores it; `nft list` reads it back to print `typeof meta cgroup : verdict`
// instead of a bare `type integer : verdict` (which nft cannot even parse back for
// a cgroup key). The layout is libnftnl's udata TLV stream (u8 type, u8 length,
// value; u32 values in host byte order), with the attribute numbers of
// <libnftnl/udata.h> and nftables' set/meta udata builders.
//
// Verified against nft 1.0.6: `map m { typeof meta cgroup : verdict; }` loaded with
// `nft -f` in a throwaway namespace and dumped with libnftnl gives
//   000401000000 010400000000 030e 000409000000 0106 000417000000
//   0408 000401000000 0100 060400000000
//
// `typeof socket cgroupv2 level 2 : verdict` (same method) gives
//   000401000000 010400000000 030e 00040a000000 0106 000403000000
//   0408 000401000000 0100 060400000000
// nft 1.0.6 records only the socket key, not the level, so it lists the map as
// `typeof socket cgroupv2 level 0`; netcg sends the same bytes so that both
// backends list identically (the rule itself shows the real level).
import { hostU32 } from './bytes.js';

// enum nftnl_udata_set_types
const UDATA_SET_KEYBYTEORDER = 0;
const UDATA_SET_DATABYTEORDER = 1;
const UDATA_SET_KEY_TYPEOF = 3;
const UDATA_SET_DATA_TYPEOF = 4;
const UDATA_SET_DATA_INTERVAL = 6;
// enum nftnl_udata_set_typeof_types
const UDATA_TYPEOF_EXPR = 0;
const UDATA_TYPEOF_DATA = 1;
// nftables' meta / socket expression udata: the key
const UDATA_META_KEY = 0;
const UDATA_SOCKET_KEY = 0;

// nftables' enum byteorder
const BYTEORDER_INVALID = 0;
const BYTEORDER_HOST_ENDIAN = 1;
// nftables' enum expr_types
const EXPR_VERDICT = 1;
const EXPR_META = 9;
const EXPR_SOCKET = 10;
// NFT_META_CGROUP
const NFT_META_CGROUP = 23;
// NFT_SOCKET_CGROUPV2
const NFT_SOCKET_CGROUPV2 = 3;

/** NFT_SET_MAP. */
export const NFT_SET_MAP = 0x8;
/** nftables' TYPE_INTEGER: what `meta cgroup` is. */
export const TYPE_INTEGER = 4;
/** NFT_DATA_VERDICT: the map's values are verdicts. */
export const NFT_DATA_VERDICT = 0xffffff00;
/** sizeof(struct nft_data): a verdict occupies a whole 16-byte register. */
export const VERDICT_DATA_LEN = 16;
export const CGROUP_KEY_LEN = 4;
/** nftables' TYPE_CGROUPV2: what `socket cgroupv2` is (nft prints its values as paths below /sys/fs/cgroup). */
export const TYPE_CGROUPV2 = 46;
/** A cgroup2 ID is 64 bits. */
export const CGROUPV2_KEY_LEN = 8;

function tlv(type: number, value: Buffer): Buffer {
  if (value.length > 0xff) throw new RangeError('udata attribute longer than 255 bytes');
  return Buffer.concat([Buffer.from([type, value.length]), value]);
}

/** The userdata of `typeof <expr> : verdict`, with the key expression's own udata. */
function verdictMapUserdata(exprType: number, exprUdata: Buffer): Buffer {
  return Buffer.concat([
    tlv(UDATA_SET_KEYBYTEORDER, hostU32(BYTEORDER_HOST_ENDIAN)),
    tlv(UDATA_SET_DATABYTEORDER, hostU32(BYTEORDER_INVALID)),
    tlv(
      UDATA_SET_KEY_TYPEOF,
      Buffer.concat([tlv(UDATA_TYPEOF_EXPR, hostU32(exprType)), tlv(UDATA_TYPEOF_DATA, exprUdata)]),
    ),
    tlv(
      UDATA_SET_DATA_TYPEOF,
      Buffer.concat([tlv(UDATA_TYPEOF_EXPR, hostU32(EXPR_VERDICT)), tlv(UDATA_TYPEOF_DATA, Buffer.alloc(0))]),
    ),
    tlv(UDATA_SET_DATA_INTERVAL, hostU32(0)),
  ]);
}

/** The userdata of `typeof meta cgroup : verdict`. */
export function cgroupVerdictMapUserdata(): Buffer {
  return verdictMapUserdata(EXPR_META, tlv(UDATA_META_KEY, hostU32(NFT_META_CGROUP)));
}

/** The userdata of `typeof socket cgroupv2 level L : verdict` as nft 1.0.6 sends it (no level; see above). */
export function cgroupV2VerdictMapUserdata(): Buffer {
  return verdictMapUserdata(EXPR_SOCKET, tlv(UDATA_SOCKET_KEY, hostU32(NFT_SOCKET_CGROUPV2)));
}

/** The set attributes of `map X { typeof socket cgroupv2 level L : verdict; }` (the level lives in the rule). */
export function cgroupV2VerdictMapAttrs(): {
  flags: number;
  keyType: number;
  keyLen: number;
  dataType: number;
  dataLen: number;
  userdata: Buffer;
} {
  return {
    flags: NFT_SET_MAP,
    keyType: TYPE_CGROUPV2,
    keyLen: CGROUPV2_KEY_LEN,
    dataType: NFT_DATA_VERDICT,
    dataLen: VERDICT_DATA_LEN,
    userdata: cgroupV2VerdictMapUserdata(),
  };
}

/** The set attributes (other than name and elements) of `map X { typeof meta cgroup : verdict; }`. */
export function cgroupVerdictMapAttrs(): {
  flags: number;
  keyType: number;
  keyLen: number;
  dataType: number;
  dataLen: number;
  userdata: Buffer;
} {
  return {
    flags: NFT_SET_MAP,
    keyType: TYPE_INTEGER,
    keyLen: CGROUP_KEY_LEN,
    dataType: NFT_DATA_VERDICT,
    dataLen: VERDICT_DATA_LEN,
    userdata: cgroupVerdictMapUserdata(),
  };
}
