/**
 * The keys of the full-screen client, one row each: `/help` lists them after the commands (`/help
 * keys` alone) and README's key table is rendered from them (tests/command_docs_test.ts). The
 * bindings live in app_keys.ts, video_view.ts, picture_view.ts and select.ts; a key bound there gets
 * a row here.
 */
export const KEYS: readonly (readonly [keys: string, does: string])[] = [
  ["Alt+1…9, Alt+0", "Go to buffer 1…10"],
  ["Ctrl-N, Ctrl-P", "Next, previous buffer"],
  ["Alt+A", "Next buffer with unread messages (highlights first)"],
  ["PgUp, PgDn", "Scroll the messages a page (PgUp at the top loads older ones from the server)"],
  ["Ctrl-F", "Search the scrollback (Ctrl-F or Up: older hit, Enter stays there, Esc returns)"],
  [
    "Tab, Shift-Tab",
    "Complete commands, user names (offline ones too), #rooms, :emoji:, video names after /play, " +
    "file paths after /send-file and /stream",
  ],
  ["Alt+Enter", "A new line in the message being typed (⏎; a paste keeps its lines too)"],
  ["Up, Down", "Recall what you typed"],
  ["Ctrl-C", "Clear the input line"],
  ["Ctrl-L", "Redraw the screen"],
  ["F7, F8", "Show or hide the buffer list, the member list"],
  ["Alt+S or Ctrl+Up", "Select a message (the newest of the buffer); the keys below act on it"],
  ["Up, Down or k, j", "Selected: an older, a newer message (the view scrolls to it)"],
  ["r", "Selected: reply (its quote shows above the input line, Enter sends)"],
  ["e", "Selected: edit your message (its text in the input line, Enter saves)"],
  ["d", "Selected: delete it for everyone (asks y/n)"],
  [
    "+ or a",
    "Selected: react (`/react :` in the input line, Tab completes the emoji; the same again takes it back)",
  ],
  ["/", "Selected: type a command; /reply /edit /delete /react act on the selected message"],
  ["h or Enter", "Selected: its earlier texts, if it was edited"],
  ["Esc", "Selected: leave (or cancel the reply, edit or reaction being typed)"],
  ["q, space, Left, Right", "While a video plays and the input line is empty: stop, pause, seek 5 s"],
  ["y, n", "At a stream offer, with the input line empty: accept, refuse"],
  ["Alt+V", "Show the newest picture of the conversation full size (Esc goes back)"],
];
