#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::testing {

// The shared address operators put in front of berth replicas, in miniature: listens on
// host:port (port 0: any) and forwards each connection to the first backend port on 127.0.0.1
// that accepts, so connections keep working while any backend lives. A thread per connection;
// every socket and thread ends in the destructor.
class TcpForwarder {
 public:
  TcpForwarder(const std::string& host, std::vector<unsigned short> backends);
  ~TcpForwarder();
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  // Adds a backend, tried after those already there.
  void AddBackend(unsigned short port);
  unsigned short port() const { return port_; }

 private:
  void Accept();
  void Pump(int client);
  int ConnectBackend();

  std::vector<unsigned short> backends_;  // guarded by mu_
  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;  // guarded by mu_
  std::vector<int> fds_;            // open sockets, guarded by mu_; shut down on destruction
};

}  // namespace berth::testing
