// The watch daemon's defaults, apart from the daemon so that `netcg watch --help`
// shows them without loading the daemon (and the addon).

/** How long a burst of events is gathered before one repair, in ms. */
export const DEFAULT_DEBOUNCE_MS = 50;
