// stomp/frame.cc — names of versions and commands, and the command lookup the
// parser runs once per frame.
#include "stomp/frame.h"

namespace twinmq::stomp {

std::string_view version_name(Version v) {
  switch (v) {
    case Version::v1_0: return "1.0";
    case Version::v1_1: return "1.1";
    case Version::v1_2: return "1.2";
  }
  return "1.0";
}

std::string_view command_name(Command c) {
  switch (c) {
    case Command::connect: return "CONNECT";
    case Command::stomp: return "STOMP";
    case Command::send: return "SEND";
    case Command::subscribe: return "SUBSCRIBE";
    case Command::unsubscribe: return "UNSUBSCRIBE";
    case Command::ack: return "ACK";
    case Command::nack: return "NACK";
    case Command::begin: return "BEGIN";
    case Command::commit: return "COMMIT";
    case Command::abort: return "ABORT";
    case Command::disconnect: return "DISCONNECT";
    case Command::connected: return "CONNECTED";
    case Command::message: return "MESSAGE";
    case Command::receipt: return "RECEIPT";
    case Command::error: return "ERROR";
    case Command::unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

// Runs for every frame, so it dispatches on the first letter and compares at most
// two candidates instead of walking all fifteen names.
Command parse_command(std::string_view text) {
  if (text.empty()) return Command::unknown;
  auto is = [&](Command c) { return text == command_name(c); };
  switch (text[0]) {
    case 'A':
      if (is(Command::ack)) return Command::ack;
      if (is(Command::abort)) return Command::abort;
      break;
    case 'B':
      if (is(Command::begin)) return Command::begin;
      break;
    case 'C':
      if (is(Command::connect)) return Command::connect;
      if (is(Command::commit)) return Command::commit;
      if (is(Command::connected)) return Command::connected;
      break;
    case 'D':
      if (is(Command::disconnect)) return Command::disconnect;
      break;
    case 'E':
      if (is(Command::error)) return Command::error;
      break;
    case 'M':
      if (is(Command::message)) return Command::message;
      break;
    case 'N':
      if (is(Command::nack)) return Command::nack;
      break;
    case 'R':
      if (is(Command::receipt)) return Command::receipt;
      break;
    case 'S':
      if (is(Command::send)) return Command::send;
      if (is(Command::subscribe)) return Command::subscribe;
      if (is(Command::stomp)) return Command::stomp;
      break;
    case 'U':
      if (is(Command::unsubscribe)) return Command::unsubscribe;
      break;
    default:
      break;
  }
  return Command::unknown;
}

}  // namespace twinmq::stomp
