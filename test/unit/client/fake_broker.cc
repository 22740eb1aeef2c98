// test/unit/client/fake_broker.cc — see fake_broker.h.
#include "fake_broker.h"

#include <future>

#include "net/async_queue.h"
#include "net/loop.h"
#include "net/tcp_connection.h"
#include "net/tcp_listener.h"
#include "net/timer.h"
#include "stomp/frame_parser.h"
#include "stomp/frame_writer.h"

namespace twinmq::test {
namespace {

enum class Control { stop, resume_reading };

struct Subscription {
  std::string destination;
  std::string id;
};

}  // namespace

// One accepted client connection. Loop thread only; freed at teardown, never in a
// callback.
struct ServerConn final : net::ConnectionHandler, stomp::FrameSink {
  FakeBroker& owner;
  const FakeBehaviour& behaviour;
  net::Loop& loop;
  net::TcpConnection* tcp = nullptr;
  stomp::FrameParser parser;
  stomp::Version version = stomp::Version::v1_0;
  std::vector<Subscription> subs;
  net::HandlePtr<net::Timer> beats;
  std::uint64_t next_message = 1;
  std::vector<std::unique_ptr<ServerConn>>* all = nullptr;  // every connection of the server
  std::size_t* round_robin = nullptr;
  bool connected = false;
  bool paused = false;

  ServerConn(FakeBroker& o, const FakeBehaviour& b, net::Loop& l) : owner(o), behaviour(b), loop(l) {}

  void on_data(std::string_view bytes) override {
    if (!parser.feed(bytes, *this)) tcp->close();
  }
  void on_close(int) override {
    tcp = nullptr;
    beats.reset();
  }
  void on_heartbeat() override { owner.count_beat(); }

  void write_receipt(const stomp::Frame& f) {
    if (auto r = f.header("receipt")) {
      stomp::FrameWriter w(tcp->output(), version, stomp::Command::receipt);
      w.header("receipt-id", *r);
      w.finish({}, false);
    }
  }

  bool on_frame(const stomp::Frame& f) override {
    RecordedFrame rec{f.command, {}, std::string(f.body)};
    for (const stomp::Header& h : f.headers) rec.headers.emplace_back(h.name, h.value);
    owner.record(std::move(rec));
    switch (f.command) {
      case stomp::Command::connect:
      case stomp::Command::stomp:
        answer_connect();
        break;
      case stomp::Command::send:
        if (f.header("destination") == "/queue/error" || behaviour.fence_on_send) {
          // fence_on_send: what a twinmq broker says when it loses its pair's witness.
          const bool fence = behaviour.fence_on_send;
          stomp::FrameWriter w(tcp->output(), version, stomp::Command::error);
          w.header("message", fence ? "not serving" : "destination refused");
          if (auto r = f.header("receipt"); r && !fence) w.header("receipt-id", *r);
          w.finish(fence ? "broker stopped serving: lost the witness key\n" : "you sent to /queue/error\n");
          tcp->commit_output();
          tcp->close_after_flush();
          return false;
        }
        deliver(f);
        if (behaviour.answer_send) write_receipt(f);
        break;
      case stomp::Command::subscribe:
        subs.push_back({std::string(f.header("destination").value_or("")),
                        std::string(f.header("id").value_or(""))});
        if (behaviour.answer_subscribe) write_receipt(f);
        break;
      case stomp::Command::unsubscribe:
        std::erase_if(subs, [&](const Subscription& s) { return s.id == f.header("id"); });
        write_receipt(f);
        break;
      case stomp::Command::disconnect:
        if (!behaviour.answer_disconnect) return true;  // a broker that dies before answering
        write_receipt(f);
        tcp->commit_output();
        tcp->close_after_flush();
        return false;
      default:
        write_receipt(f);
        break;
    }
    tcp->commit_output();
    return true;
  }

  void answer_connect() {
    if (!behaviour.answer_connect) return;
    if (!behaviour.connect_error.empty()) {
      stomp::FrameWriter w(tcp->output(), stomp::Version::v1_0, stomp::Command::error);
      w.header("message", behaviour.connect_error);
      w.finish("login refused by the fake broker");
      tcp->commit_output();
      tcp->close_after_flush();
      return;
    }
    stomp::FrameWriter w(tcp->output(), stomp::Version::v1_0, stomp::Command::connected);
    if (!behaviour.version.empty()) w.header("version", behaviour.version);
    if (!behaviour.heart_beat.empty()) w.header("heart-beat", behaviour.heart_beat);
    w.header("session", "fake-session-1");
    w.header("server", "fake/1.0");
    w.finish({}, false);
    if (behaviour.version == "1.2") version = stomp::Version::v1_2;
    else if (behaviour.version == "1.1") version = stomp::Version::v1_1;
    parser.set_version(version);
    connected = true;
    if (behaviour.garbage_after_connect) tcp->output().append("MESSAGE\nthis line has no colon\n\n");
    if (behaviour.beat_every_ms) {
      beats = net::Timer::create(loop);
      beats->start(behaviour.beat_every_ms, behaviour.beat_every_ms, [this] {
        if (!tcp) return;
        tcp->output() += '\n';
        tcp->commit_output();
      });
    }
    if (behaviour.pause_reading_after_connect) {
      paused = true;
      tcp->pause_reading();
    }
  }

  // A queue goes to one subscription (round-robin over every connection), a topic to
  // all of them; with no subscriber the message is dropped (nothing is stored).
  void deliver(const stomp::Frame& send) {
    const std::string_view dest = send.header("destination").value_or("");
    std::vector<std::pair<ServerConn*, const Subscription*>> targets;
    for (auto& conn : *all) {
      if (!conn->tcp || !conn->connected) continue;
      for (const Subscription& s : conn->subs) {
        if (s.destination == dest) targets.emplace_back(conn.get(), &s);
      }
    }
    if (targets.empty()) return;
    if (dest.starts_with("/topic/")) {
      for (auto [conn, sub] : targets) conn->write_message(send, *sub);
    } else {
      auto [conn, sub] = targets[(*round_robin)++ % targets.size()];
      conn->write_message(send, *sub);
    }
  }

  void write_message(const stomp::Frame& send, const Subscription& s) {
    const std::string n = std::to_string(next_message++);
    stomp::FrameWriter w(tcp->output(), version, stomp::Command::message);
    w.header("destination", s.destination);
    w.header("message-id", "m-" + n);
    w.header("subscription", s.id);
    if (version == stomp::Version::v1_2) w.header("ack", "a-" + n);
    for (const stomp::Header& h : send.headers) {
      if (h.name != "destination" && h.name != "receipt" && h.name != "content-length" &&
          h.name != "transaction") {
        w.header(h.name, h.value);
      }
    }
    w.finish(send.body);
    tcp->commit_output();
  }
};

struct FakeBroker::Impl {
  net::Loop& loop;
  FakeBroker& owner;
  net::HandlePtr<net::TcpListener> listener;
  net::HandlePtr<net::AsyncQueue<Control>> control;
  std::vector<std::unique_ptr<ServerConn>> conns;
  std::size_t round_robin = 0;

  Impl(net::Loop& l, FakeBroker& o) : loop(l), owner(o) {}

  void on_control(std::vector<Control>& items) {
    for (Control c : items) {
      if (c == Control::stop) {
        loop.stop();
      } else {
        for (auto& conn : conns) {
          if (conn->tcp && conn->paused) conn->paused = false, conn->tcp->resume_reading();
        }
      }
    }
  }

  void teardown() {
    for (auto& c : conns) {
      c->beats.reset();
      if (c->tcp) {
        c->tcp->set_handler(nullptr);
        c->tcp->close();
        c->tcp = nullptr;
      }
    }
    listener.reset();
    control.reset();
  }
};

FakeBroker::FakeBroker(FakeBehaviour behaviour) : behaviour_(std::move(behaviour)) {
  std::promise<std::pair<std::uint16_t, Impl*>> ready;
  auto started = ready.get_future();
  thread_ = std::thread([this, &ready] {
    net::Loop loop;
    Impl impl(loop, *this);
    impl.control = net::AsyncQueue<Control>::create(
        loop, [&impl](std::vector<Control>& items) { impl.on_control(items); });
    auto l = net::TcpListener::listen(loop, "127.0.0.1", 0, [this, &impl, &loop](net::TcpListener& self) {
      auto conn = std::make_unique<ServerConn>(*this, behaviour_, loop);
      conn->all = &impl.conns;
      conn->round_robin = &impl.round_robin;
      conn->tcp = net::TcpConnection::accept(loop, self.stream(), conn.get());
      if (!conn->tcp) return;
      accepted_.fetch_add(1);
      impl.conns.push_back(std::move(conn));
    });
    if (!l) {
      ready.set_value({0, nullptr});
      return;
    }
    impl.listener = std::move(*l);
    ready.set_value({impl.listener->port(), &impl});
    loop.run();
    impl.teardown();
    loop.shutdown();
  });
  auto [port, impl] = started.get();
  port_ = port;
  impl_ptr_ = impl;
}

FakeBroker::~FakeBroker() {
  if (impl_ptr_) impl_ptr_->control->push(Control::stop);
  thread_.join();
}

void FakeBroker::resume_reading() {
  if (impl_ptr_) impl_ptr_->control->push(Control::resume_reading);
}

void FakeBroker::record(RecordedFrame f) {
  std::lock_guard lock(mu_);
  frames_.push_back(std::move(f));
}

std::vector<RecordedFrame> FakeBroker::frames() const {
  std::lock_guard lock(mu_);
  return frames_;
}

std::vector<RecordedFrame> FakeBroker::frames(stomp::Command command) const {
  std::vector<RecordedFrame> out;
  for (auto& f : frames()) {
    if (f.command == command) out.push_back(f);
  }
  return out;
}

std::uint16_t closed_port() {
  net::Loop loop;
  std::uint16_t port = 0;
  {
    auto l = net::TcpListener::listen(loop, "127.0.0.1", 0, [](net::TcpListener&) {});
    if (l) port = (*l)->port();
  }
  loop.shutdown();
  return port;
}

}  // namespace twinmq::test
