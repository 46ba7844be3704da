// The error the addon throws for every kernel or system-call failure (and for
// malformed input, with code 'EINVAL' and `path`). The addon receives this class
// in init() and constructs it directly, so `instanceof NetlinkError` holds.
import { NetcgError } from '../shared/errors.js';

export interface NetlinkErrorProps {
  /** Symbolic errno, e.g. 'EEXIST', 'ENOENT', 'ERESTART'; 'EINVAL' for bad input. */
  code?: string;
  /** Positive errno number. */
  errno?: number;
  /** What was being done, e.g. 'nft.commit', 'rtnl.route.add', 'input'. */
  op?: string;
  /** The JS value the failure is about (for a batch: the failed op). */
  object?: unknown;
  /** The kernel's extended-ACK message (NLMSGERR_ATTR_MSG), when it sent one. */
  extAck?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  extAckOffset?: number;
  /** Index of the failed message (= op) in a batch. */
  index?: number;
  /** For input errors: the field path, e.g. 'ops[3].exprs[1].key'. */
  path?: string;
  /** A dump the kernel kept flagging inconsistent (NLM_F_DUMP_INTR) through every retry. */
  dumpInterrupted?: boolean;
  /** ENOBUFS while reading a batch's acks: the error is the first one read; later ones were lost. */
  acksLost?: boolean;
}

export class NetlinkError extends NetcgError {
  readonly errno: number;
  readonly op: string;
  readonly object: unknown;
  readonly extAck: string | undefined;
  readonly extAckOffset: number | undefined;
  readonly index: number | undefined;
  readonly path: string | undefined;
  readonly dumpInterrupted: boolean;
  readonly acksLost: boolean;

  constructor(message: string, props: NetlinkErrorProps = {}) {
    super(props.code ?? 'EUNKNOWN', message);
    this.name = 'NetlinkError';
    this.errno = props.errno ?? 0;
    this.op = props.op ?? '';
    this.object = props.object;
    this.extAck = props.extAck;
    this.extAckOffset = props.extAckOffset;
    this.index = props.index;
    this.path = props.path;
    this.dumpInterrupted = props.dumpInterrupted ?? false;
    this.acksLost = props.acksLost ?? false;
  }
}
