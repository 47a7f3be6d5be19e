import Foundation
import XCTest

/// A headless Chromium driven through chromedriver's W3C WebDriver protocol (plain HTTP and
/// JSON, so nothing beyond Debian's `chromium` and `chromium-driver` is needed).
final class WebDriver {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let driver: Process
    let base: URL
    let session: String

    static let chromedriver = "/usr/bin/chromedriver"
    static let chromium = "/usr/bin/chromium"
    static let curl = "/usr/bin/curl"

    /// Why the browser cannot run here, or nil when both programs are installed.
    static var missing: String? {
        let absent = [chromedriver, chromium, curl].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        return absent.isEmpty ? nil : "\(absent.joined(separator: " and ")) not installed (apt-get install chromium chromium-driver curl)"
    }

    /// Starts chromedriver on a free port and a headless Chromium whose downloads go to `downloads`.
    init(downloads: URL, profile: URL) throws {
        var port = 0
        var process: Process?
        for _ in 0..<5 where process == nil {
            port = Int.random(in: 20_000..<60_000)
            let candidate = Process()
            candidate.executableURL = URL(fileURLWithPath: Self.chromedriver)
            candidate.arguments = ["--port=\(port)"]
            candidate.standardOutput = FileHandle.nullDevice
            candidate.standardError = FileHandle.nullDevice
            try candidate.run()
            let url = URL(string: "http://127.0.0.1:\(port)")
            for _ in 0..<100 {
                if let url, let status = try? Self.request("GET", url.appendingPathComponent("status"), body: nil),
                    (status["value"] as? [String: Any])?["ready"] as? Bool == true
                {
                    process = candidate
                    break
                }
                if !candidate.isRunning { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            if process == nil && candidate.isRunning { candidate.terminate() }
        }
        guard let process, let base = URL(string: "http://127.0.0.1:\(port)") else {
            throw Failure(description: "chromedriver did not start")
        }
        driver = process
        self.base = base
        let options: [String: Any] = [
            "binary": Self.chromium,
            // --no-sandbox: CI and this machine run as root, where Chromium's sandbox refuses to start.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=\(profile.path)"],
            "prefs": ["download.default_directory": downloads.path, "download.prompt_for_download": false],
        ]
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": options]]]
        let reply: [String: Any]
        do { reply = try Self.request("POST", base.appendingPathComponent("session"), body: capabilities) } catch {
            process.terminate()
            throw error
        }
        guard let value = reply["value"] as? [String: Any], let session = value["sessionId"] as? String else {
            process.terminate()
            throw Failure(description: "no WebDriver session: \(reply)")
        }
        self.session = session
        // Headless Chromium saves downloads only when told where (the profile's pref is not enough in every version).
        _ = try? command(
            "goog/cdp/execute",
            [
                "cmd": "Browser.setDownloadBehavior",
                "params": ["behavior": "allow", "downloadPath": downloads.path],
            ])
    }

    func quit() {
        _ = try? Self.request("DELETE", base.appendingPathComponent("session/\(session)"), body: nil)
        if driver.isRunning { driver.terminate() }
        driver.waitUntilExit()
    }

    @discardableResult
    func command(_ path: String, _ body: [String: Any]? = nil, method: String = "POST") throws -> Any? {
        let reply = try Self.request(method, base.appendingPathComponent("session/\(session)/\(path)"), body: body ?? [:])
        if let value = reply["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure(description: "WebDriver \(path): \(error): \(value["message"] ?? "")")
        }
        return reply["value"]
    }

    func open(_ url: URL) throws { try command("url", ["url": url.absoluteString]) }
    func reload() throws { try command("refresh") }

    /// Runs `script` until `done` holds for its value (the page's own scripts may still be running
    /// after a load or a reload), at most `timeout` seconds; returns the last value.
    func poll(_ script: String, timeout: Double = 10, until done: (Any?) -> Bool) throws -> Any? {
        let deadline = Date().addingTimeInterval(timeout)
        var value = try self.script(script)
        while !done(value) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            value = try self.script(script)
        }
        return value
    }

    /// Runs `script` (a function body) in the page and returns its value.
    func script(_ script: String) throws -> Any? { try command("execute/sync", ["script": script, "args": []]) }

    func element(_ selector: String) throws -> String {
        let value = try command("element", ["using": "css selector", "value": selector]) as? [String: Any]
        guard let id = value?.values.first as? String else { throw Failure(description: "no element \(selector)") }
        return id
    }

    func click(_ selector: String) throws { try command("element/\(try element(selector))/click", [:]) }
    func type(_ text: String, into selector: String) throws { try command("element/\(try element(selector))/value", ["text": text]) }

    /// Presses and releases one key, as a person at the keyboard does ("\u{E003}" is Backspace).
    func press(_ key: String) throws {
        try command(
            "actions",
            [
                "actions": [
                    [
                        "type": "key", "id": "keyboard",
                        "actions": [["type": "keyDown", "value": key], ["type": "keyUp", "value": key]],
                    ]
                ]
            ])
    }

    /// One HTTP exchange through curl (swift-corelibs-foundation's URLSession fails on
    /// chromedriver's replies with "Failed writing header").
    static func request(_ method: String, _ url: URL, body: [String: Any]?) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: curl)
        process.arguments =
            ["-s", "--max-time", "60", "-X", method, "-H", "Content-Type: application/json"]
            + (body == nil ? [] : ["--data-binary", "@-"]) + [url.absoluteString]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        if let body { input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: body)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(description: "\(method) \(url): curl exit \(process.terminationStatus)") }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure(description: "\(method) \(url): not a JSON object")
        }
        return object
    }
}
